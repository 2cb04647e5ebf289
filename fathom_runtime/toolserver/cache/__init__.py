"""Caches of search results, pages and extractions (memory, disk, Redis), and request coalescing."""
