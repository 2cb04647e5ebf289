"""Pure rendering of a stack's child objects: spec models in, list[Manifest] out.

No Kubernetes client, no clock, no environment: the same input always renders the same objects.
"""

from __future__ import annotations

from typing import Any

Manifest = dict[str, Any]
