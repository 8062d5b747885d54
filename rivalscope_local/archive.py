"""Commands on the local archive in ``data/``, each with the endpoint started (and ``data/``
restored) around it and synced back afterwards — the endpoint of ``make run`` is gone by then.

    python -m rivalscope_local.archive runs
    python -m rivalscope_local.archive reanalyze [RUN_URI] [--prompt FILE] [reanalyze options]
    python -m rivalscope_local.archive report [RUN_URI] [--prompt FILE_OR_ID] [--out DIR]
    python -m rivalscope_local.archive exec -- COMMAND [ARG...]

``RUN_URI`` defaults to the latest run in ``data/``. The analyser rule of ``make run`` holds:
without ``GEMINI_API_KEY`` (and no ``ANALYZER``), the offline extract analyser. The exit code is
the command's; Ctrl-C reaches the command (same process group) and the sync still runs."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from rivalscope_core.exit_codes import EXIT_OK, EXIT_USAGE
from rivalscope_local.persistence import key_to_relpath, relpath_to_key
from rivalscope_local.stack import DEFAULT_BUCKET, LocalStack, choose_analyzer

SPIDER = "competitors"


def local_runs(data_dir: Path, bucket: str = DEFAULT_BUCKET) -> list[str]:
    """Run URIs found on disk, oldest first (run times sort as text)."""
    base = data_dir / "s3" / bucket / key_to_relpath(f"raw/{SPIDER}")
    if not base.is_dir():
        return []
    times = sorted(relpath_to_key(Path(p.name)) for p in base.iterdir() if p.is_dir())
    return [f"s3://{bucket}/raw/{SPIDER}/{time}/" for time in times]


def run_in_stack(command: list[str], data_dir: Path, bucket: str) -> int:
    if notice := choose_analyzer(os.environ):
        print(f"rivalscope: {notice}", file=sys.stderr, flush=True)
    stack = LocalStack(data_dir, bucket)
    stack.start()
    try:
        proc = subprocess.Popen(command, env=stack.env)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # the child got the same Ctrl-C: let it stop cleanly
                continue
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the sync
        stack.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rivalscope_local.archive")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("runs", help="list the runs stored in data/")
    # RUN_URI is optional and positional among options passed through untouched: it is the
    # argument that starts with s3:// (argparse would take a prompt path for it)
    commands.add_parser("reanalyze", help="python -m analyzer_lambda.reanalyze")
    report = commands.add_parser("report", help="python -m analyzer_lambda.report")
    report.add_argument("--prompt", default=None, help="default: each page's own prompt")
    report.add_argument("--out", type=Path, default=None, help="default: out/<run time>/")
    commands.add_parser("exec", help="any command, with the local endpoint up")
    args, rest = parser.parse_known_args(argv)
    rest = rest[1:] if rest[:1] == ["--"] else rest

    runs = local_runs(args.data_dir, args.bucket)
    if args.command == "runs":
        print("\n".join(runs) if runs else f"no run in {args.data_dir}/: `make run` first")
        return EXIT_OK
    if args.command == "exec":
        if not rest:
            parser.error("exec needs a command after --")
        return run_in_stack(rest, args.data_dir, args.bucket)
    given = [arg for arg in rest if arg.startswith("s3://") and "/raw/" in arg][:1]
    rest = [arg for arg in rest if arg not in given]
    run = given[0] if given else (runs[-1] if runs else "")
    if not run:
        print(f"rivalscope: no run in {args.data_dir}/ and no RUN given", file=sys.stderr)
        return EXIT_USAGE
    python = [sys.executable, "-m"]
    if args.command == "reanalyze":
        command = [*python, "analyzer_lambda.reanalyze", run, *rest]
    else:
        out = args.out or Path("out") / run.rstrip("/").rsplit("/", 1)[-1]
        prompt = ["--prompt", args.prompt] if args.prompt else []
        command = [*python, "analyzer_lambda.report", run, *prompt, "--out", str(out), *rest]
    return run_in_stack(command, args.data_dir, args.bucket)


if __name__ == "__main__":
    sys.exit(main())
