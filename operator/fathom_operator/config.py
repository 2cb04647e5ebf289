"""Operator settings (FATHOM_OPERATOR_* environment variables): default images and timing. Pure data."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fathom_operator import __version__

DEFAULT_SGLANG_IMAGE = "lmsysorg/sglang:v0.5.19-cu129"
DEFAULT_RUNTIME_IMAGE = f"fathom-stack/runtime:{__version__}"
DEFAULT_LLAMACPP_IMAGE = f"fathom-stack/llamacpp:{__version__}"


class RenderConfig(BaseSettings):
    """What rendering needs besides the spec; passed in so rendering stays a pure function."""

    model_config = SettingsConfigDict(env_prefix="FATHOM_OPERATOR_", frozen=True)

    sglang_image: str = Field(default=DEFAULT_SGLANG_IMAGE, description="Model server image when the spec has none.")
    runtime_image: str = Field(default=DEFAULT_RUNTIME_IMAGE, description="Tool server and orchestrator image.")
    llamacpp_image: str = Field(
        default=DEFAULT_LLAMACPP_IMAGE, description="CPU model server image (engine llamacpp) when the spec has none."
    )


class OperatorConfig(RenderConfig):
    """Settings of the running operator."""

    status_resync_seconds: float = Field(
        default=60.0, gt=0, description="How often external model endpoints are re-probed (they cannot be watched)."
    )
    monitoring_discovery_ttl_seconds: float = Field(
        default=60.0, ge=0, description="How long the presence of monitoring.coreos.com is cached."
    )
