"""Egress guard: which addresses model-chosen URLs may reach (pure policy) and the resolving connector that
enforces it on every connection (DNS-rebinding safe)."""
