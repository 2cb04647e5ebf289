"""Argument parsing for `fathom`; each subcommand's work lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from fathom_runtime import __version__

Handler = Callable[[argparse.Namespace], int]


def _add_service_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=default_port, help="port to bind (default: %(default)s)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def _add_api_key_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key-env",
        default="FATHOM_API_KEY",
        metavar="VAR",
        help="environment variable holding the orchestrator's API key, sent as a Bearer token when set "
        "(default: %(default)s; never pass a key on the command line)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fathom",
        description="Run and use the Fathom-DeepResearch agent stack.",
        epilog="Every option can also be set with a FATHOM_* environment variable (see docs/).",
    )
    parser.add_argument("--version", action="version", version=f"fathom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    research = sub.add_parser("research", help="ask a question through an orchestrator and show progress")
    research.add_argument("question", help="the research question")
    research.add_argument("--url", default="http://127.0.0.1:8900", help="orchestrator base URL")
    research.add_argument("--mode", choices=["search", "deepresearch"], default="search")
    research.add_argument("-o", "--output", help="write the report (or answer) to this file")
    research.add_argument("--max-turns", type=int, help="agent rounds (default: the orchestrator's)")
    _add_api_key_option(research)

    evaluate = sub.add_parser(
        "eval",
        help="run a JSONL benchmark (id, question, answer) through the agent",
        description="Runs every row through the search agent, judges each answer, writes one result row per "
        "example (resuming by id) and prints the accuracy.",
    )
    evaluate.add_argument("dataset", help="path of a JSONL file with id, question and answer")
    evaluate.add_argument("--url", default="http://127.0.0.1:8900", help="orchestrator base URL")
    evaluate.add_argument("--out", help="results JSONL (default: <dataset>.results.jsonl; resumed by id)")
    evaluate.add_argument("--workers", type=int, default=8, help="questions in flight at once")
    evaluate.add_argument("--limit", type=int, help="only the first N rows")
    evaluate.add_argument(
        "--judge",
        choices=("llm", "contains"),
        default="llm",
        help="llm: the paper's judge (needs --judge-url); contains: gold answer contained in the prediction, "
        "a different metric, not comparable with the paper",
    )
    evaluate.add_argument("--judge-url", help="OpenAI-compatible base URL (…/v1) of the LLM judge")
    evaluate.add_argument("--judge-model", default="gpt-4.1-mini", help="model name of the judge")
    evaluate.add_argument("--judge-key-env", default="OPENAI_API_KEY", help="variable holding the judge's key")
    _add_api_key_option(evaluate)

    keys = sub.add_parser(
        "api-key",
        help="make a research API key",
        description="Prints a new random key (give it to the client; it is shown once) and the line for the "
        "orchestrator's key file, which holds only its SHA-256 (docs/orchestrator.md#api-keys).",
    )
    keys.add_argument("name", help="the key's name: runs it creates belong to it (1-64 of A-Z a-z 0-9 _.@-)")
    keys.add_argument("--admin", action="store_true", help="the key sees and cancels every run, not only its own")

    _add_service_options(
        sub.add_parser(
            "orchestrator",
            help="run the research API service",
            description="The research API and agent loop. Configured by FATHOM_* variables: "
            "FATHOM_SEARCH_MODEL_URL, FATHOM_SYNTHESIZER_MODEL_URL, FATHOM_MODEL_API (generate|completions), "
            "FATHOM_TOOLSERVER_URLS, FATHOM_DATABASE_URL, FATHOM_MAX_TURNS, ... (docs/orchestrator.md).",
        ),
        8900,
    )
    _add_service_options(
        sub.add_parser(
            "toolserver",
            help="run the web tool server",
            description="Search, page reading and goal-conditioned extraction for the agent. Configured by "
            "FATHOM_* variables: FATHOM_SEARCH_PROVIDER (serper|searxng|local), FATHOM_SERPER_API_KEY, "
            "FATHOM_SEARXNG_URL, FATHOM_LOCAL_CORPUS, FATHOM_QUERY_LLM_URL, FATHOM_CACHE (memory|disk|redis), "
            "FATHOM_CACHE_URL, FATHOM_EGRESS_ALLOW, ... (docs/toolserver.md).",
        ),
        8904,
    )

    prompts = sub.add_parser("prompts", help="manage the agent's prompt files")
    actions = prompts.add_subparsers(dest="prompts_command", metavar="ACTION", required=True)
    reference = actions.add_parser(
        "import-reference",
        help="fetch the reference's exact prompt wording (pinned commit, checked digests)",
        description="Downloads the prompt sources of the reference repository (FractalAIResearchLabs/"
        "Fathom-DeepResearch) at a pinned commit, checks their sha256, extracts the prompt strings with ast (nothing "
        "is executed) and writes search_system.md and synthesis_system.md, or a ConfigMap holding both for a "
        "stack's orchestrator.prompts.configMapName. The built-in own-words prompts stay the default.",
    )
    reference.add_argument("--from", dest="source", help="base URL or local checkout (default: GitHub at the pin)")
    reference.add_argument(
        "--sha256", action="append", default=[], metavar="PATH=HEX", help="accept another digest for a source file"
    )
    target = reference.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", metavar="DIR", help="write the prompt files into DIR")
    target.add_argument("--configmap", metavar="NAME", help="print a ConfigMap named NAME (pipe to kubectl apply -f -)")
    reference.add_argument("-n", "--namespace", help="namespace of the ConfigMap")

    operator = sub.add_parser(
        "operator",
        help="run the Kopf operator against the current kubeconfig (in-cluster config inside a pod)",
        description="Reconcile DeepResearchStack resources. Serves /healthz and /metrics on --host:--port.",
    )
    scope = operator.add_mutually_exclusive_group(required=True)
    scope.add_argument("-n", "--namespace", action="append", default=[], help="namespace to watch (repeatable)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    operator.add_argument(
        "--peering",
        metavar="NAME",
        help="leader election through Kopf peering object NAME (needs the peering CRDs); default: standalone",
    )
    operator.add_argument("--kubeconfig", help="kubeconfig path (default: in-cluster, then $KUBECONFIG)")
    _add_service_options(operator, 8080)
    return parser


def _run_research(args: argparse.Namespace) -> int:
    from fathom_runtime.cli import research

    return research.run(args)


def _run_eval(args: argparse.Namespace) -> int:
    from fathom_runtime.cli import evaluate

    return evaluate.run(args)


def _run_prompts(args: argparse.Namespace) -> int:
    from fathom_runtime.cli import prompts

    return prompts.run(args)


def _run_orchestrator(args: argparse.Namespace) -> int:
    from fathom_runtime.cli import serve

    return serve.run_orchestrator(args)


def _run_toolserver(args: argparse.Namespace) -> int:
    from fathom_runtime.cli import serve

    return serve.run_toolserver(args)


def _run_operator(args: argparse.Namespace) -> int:
    from fathom_runtime.cli import operator

    return operator.run(args)


def _run_api_key(args: argparse.Namespace) -> int:
    from fathom_runtime.orchestrator import auth

    if not auth.valid_name(args.name):
        sys.stderr.write(f"fathom api-key: the name {args.name!r} must be {auth.NAME_RULE}\n")
        return 2
    token = auth.new_token()
    line = auth.key_line(args.name, "admin" if args.admin else "user", token)
    sys.stdout.write(f"key (give to the client, shown once): {token}\nkey file line: {line}\n")
    return 0


HANDLERS: dict[str, Handler] = {
    "research": _run_research,
    "eval": _run_eval,
    "prompts": _run_prompts,
    "api-key": _run_api_key,
    "orchestrator": _run_orchestrator,
    "toolserver": _run_toolserver,
    "operator": _run_operator,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return HANDLERS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
