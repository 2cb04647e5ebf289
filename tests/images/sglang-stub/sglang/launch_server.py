"""`python3 -m sglang.launch_server` of the stub image: accepts SGLang's flags, serves the scripted model."""

from __future__ import annotations

import argparse
import json
import os

import uvicorn
from scripted_model import ScriptedModel, by_round


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=30000)
    parser.add_argument("--served-model-name", default="stub")
    args, _ = parser.parse_known_args()  # every other SGLang flag is accepted and ignored
    replies = json.loads(os.environ.get("FATHOM_STUB_REPLIES", '["\\\\boxed{stub}"]'))
    model = ScriptedModel(by_round(replies), chat_reply=os.environ.get("FATHOM_STUB_CHAT", ""))
    uvicorn.run(model.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
