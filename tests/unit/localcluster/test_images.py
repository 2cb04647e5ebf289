"""What an image is built from, read off its Dockerfile: a change to any of it rebuilds the cached archive, so tests
never run an image of older sources."""

from __future__ import annotations

from localcluster.images import base_images, copied_sources

DOCKERFILE = """\
FROM python:3.11-slim AS build
COPY pyproject.toml requirements.lock ./
COPY --chown=0:0 fathom_runtime ./fathom_runtime
RUN pip install .
FROM build AS test
FROM fathom-stack/runtime:0.1.0
COPY --from=build /deps /deps
add images/fetch_model.py /tmp/
"""


def test_the_context_files_a_build_copies_are_found_and_stage_copies_are_not() -> None:
    assert copied_sources(DOCKERFILE) == ["pyproject.toml", "requirements.lock", "fathom_runtime",
                                          "images/fetch_model.py"]  # fmt: skip


def test_base_images_are_the_external_ones_not_earlier_stages() -> None:
    assert base_images(DOCKERFILE) == ["python:3.11-slim", "fathom-stack/runtime:0.1.0"]
