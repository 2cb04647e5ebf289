"""Persistence of research runs and their events, and the runner that executes them."""
