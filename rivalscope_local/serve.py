"""``make serve [PORT=8765]``: the front door on this machine, on 127.0.0.1 only.

``python -m rivalscope_local.serve [--port 8765] [--data-dir data] [--allow-private ...]``

The same API as the Lambda function URL in AWS (``analyzer_lambda.frontdoor``), the Slack
endpoint when its module is installed, and a small web page to start a run and open its
report, over the local stack of ``make run``: the embedded S3/SQS endpoint with ``data/``
restored, the queue worker that hands chunks to the analyser, and the bundled demo sites on
loopback (``http://acme.demo/...`` in a request stands for them). A run is crawled and analysed
in the background (``launcher.py``). The key is ``RIVALSCOPE_API_KEY``, else a new one printed
at start; only its SHA-256 digest is kept.

Served by uvicorn (a maintained ASGI server; README "Why each dependency"), through the
framework-free adapter ``asgi.py``. Ctrl-C stops the server, the crawls, the demo sites and the
endpoint after a last sync of ``data/``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from analyzer_lambda.deps import current_deps
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.frontdoor.app import FrontDoor, mount_slack
from analyzer_lambda.frontdoor.auth import hash_key, new_key
from analyzer_lambda.frontdoor.config import READ_RATE_FACTOR_DEFAULT, ApiConfig
from analyzer_lambda.frontdoor.store import FrontStore
from analyzer_lambda.frontdoor.throttle import Throttle
from analyzer_lambda.handler import lambda_handler
from rivalscope_core.addresses import AddressPolicy
from rivalscope_core.exit_codes import EXIT_OK, EXIT_USAGE
from rivalscope_local.asgi import asgi_app
from rivalscope_local.demo import DemoSites
from rivalscope_local.launcher import LocalLauncher
from rivalscope_local.notify import checked_settings
from rivalscope_local.run import _handler_logs_to
from rivalscope_local.stack import DEFAULT_BUCKET, LocalStack, choose_analyzer
from rivalscope_local.watchlist import DEMO_SUFFIX

if TYPE_CHECKING:
    from collections.abc import Callable

HOST = "127.0.0.1"  # never another interface: the page and the key are for this machine
DEFAULT_PORT = 8765
API_KEY = "RIVALSCOPE_API_KEY"


def say(message: str) -> None:
    print(f"rivalscope: {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    parser.add_argument("--allow-private", default="",
                        help="ALLOW_PRIVATE_ADDRESSES for own loopback/LAN sites")  # fmt: skip
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        parser.error("--port must be 0..65535")
    return args


def demo_rewriter(demo: DemoSites) -> Callable[[str], str]:
    """``http://NAME.demo/path`` → the served demo site ``NAME``; other URLs unchanged."""

    def rewrite(url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host.endswith(DEMO_SUFFIX):
            return url
        base = demo.base_url(host.removesuffix(DEMO_SUFFIX))
        if base is None:
            return url  # refused as an unresolvable host, naming it
        return urlunsplit(urlsplit(base)[:2] + parts[2:])

    return rewrite


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = parse_args(argv)
    try:
        listener = socket.create_server((HOST, args.port))
    except OSError as exc:
        print(f"rivalscope: cannot listen on {HOST}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    port = listener.getsockname()[1]
    key = os.environ.get(API_KEY, "").strip()
    generated = not key
    key = key or new_key()
    if notice := choose_analyzer(os.environ):
        say(notice)
    stack = LocalStack(args.data_dir, args.bucket)
    demo = DemoSites()
    launcher: LocalLauncher | None = None
    try:
        stack.start()
        say(f"local S3/SQS endpoint at {stack.endpoint.url}; data in {args.data_dir}/ "
            f"({stack.restored} objects restored)")  # fmt: skip
        # the analyser's JSON logs go to data/logs/, as with make run; warnings stay here
        _handler_logs_to(
            args.data_dir / "logs" / f"serve-analyzer-{time.strftime('%Y%m%dT%H%M%S')}.log"
        )
        current_deps()  # a configuration error stops now, not at the first run
        checked_settings(os.environ)  # and so does a NOTIFY_URLS Apprise cannot use
        worker = stack.start_analyzer(lambda_handler)
        demo.start()
        allow = ",".join(a for a in (args.allow_private, demo.allow_private) if a)
        config = dataclasses.replace(
            ApiConfig.from_env(os.environ),
            pages_bucket=args.bucket,
            auth="key",
            key_hashes=(hash_key(key),),
            allow_private=tuple(allow.split(",")),
        )
        launcher = LocalLauncher(
            stack, worker, lambda_handler, allow_private=allow, logs=args.data_dir / "logs"
        )
        front = FrontDoor(
            config=config,
            store=FrontStore(stack.endpoint.s3(), args.bucket),
            launcher=launcher,
            policy=AddressPolicy.from_entries(config.allow_private),
            digests=lambda: config.key_hashes,
            starts=Throttle(config.rate_per_minute, config.burst),
            reads=Throttle(config.rate_per_minute * READ_RATE_FACTOR_DEFAULT, config.burst * 5),
            page=True,
            rewrite_url=demo_rewriter(demo),
        )
        mount_slack(front)
        url = f"http://{HOST}:{port}"
        say(f"API key: {key}" + (f" (generated; set {API_KEY} to keep one)" if generated else ""))
        say(f"API at {url}/runs; Slack at {url}/slack/commands"
            + ("" if front.slack else " (not installed)"))  # fmt: skip
        say(f"open {url}/#key={key}")
        say("Ctrl-C stops")
        server = uvicorn.Server(
            uvicorn.Config(asgi_app(front), lifespan="off", log_level="warning")
        )
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a server is stopped
            server.run(sockets=[listener])  # uvicorn re-raises it after its graceful stop
        return EXIT_OK
    except ConfigurationError as exc:
        say(f"configuration: {exc}")
        return EXIT_USAGE
    finally:
        say("stopping: the crawls, the demo sites, then the endpoint after saving data/ …")
        if launcher is not None:
            launcher.stop()
        demo.stop()
        stack.stop(worker_timeout=10.0)
        listener.close()


if __name__ == "__main__":
    sys.exit(main())
