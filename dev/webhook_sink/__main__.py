"""Command line: ``python -m dev.webhook_sink [serve options]`` or ``python -m dev.webhook_sink summary ...``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from dev.webhook_sink.app import start_sink
from dev.webhook_sink.config import SinkConfig
from dev.webhook_sink.tally import tally_file


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dev.webhook_sink",
        description="Serve the webhook sink until SIGINT/SIGTERM (or use the 'summary' subcommand).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (announced on stdout)")
    parser.add_argument("--record", type=Path, required=True, help="JSON-lines file to append to")
    parser.add_argument("--secret", action="append", default=[], help="whsec_ secret; repeat for rotation")
    parser.add_argument("--authorization", help="expected Authorization header value")
    parser.add_argument("--fsync", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--store", type=Path, help="store each accepted message once, with the receiver kit, in this folder"
    )
    return parser


def _summary_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dev.webhook_sink summary",
        description="Summarise the last session of a record file; exit 1 if expected log ids are missing.",
    )
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--expected", type=Path, help="file with one expected log_id per line")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def serve(argv: list[str]) -> int:
    """Run the sink in the foreground; print ``listening on http://HOST:PORT`` once ready."""
    args = _serve_parser().parse_args(argv)
    config = SinkConfig(
        record_path=args.record,
        secrets=tuple(args.secret),
        authorization=args.authorization,
        fsync=args.fsync,
        store_dir=args.store,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = start_sink(config, args.host, args.port)
    print(f"listening on http://{args.host}:{server.port}", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


def summary(argv: list[str]) -> int:
    """Print the summary (and check) of a record file; return 1 if expected log ids are missing."""
    args = _summary_parser().parse_args(argv)
    tally = tally_file(args.record)
    report: dict[str, object] = {"summary": tally.summary()}
    if args.expected is not None:
        lines = args.expected.read_text(encoding="utf-8").splitlines()
        report["check"] = tally.check(line.strip() for line in lines if line.strip())
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)
    check = report.get("check")
    return 1 if isinstance(check, dict) and not check["ok"] else 0


def _print_text(report: dict[str, object]) -> None:
    for section, values in report.items():
        print(f"{section}:")
        for key, value in values.items():  # type: ignore[attr-defined]
            print(f"  {key}: {value}")


def main(argv: list[str] | None = None) -> int:
    """Dispatch to ``summary`` or to serving."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["summary"]:
        return summary(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
