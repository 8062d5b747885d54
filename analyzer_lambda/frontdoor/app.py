"""The front door's request core: the route table, authentication, throttling, and the two
run endpoints. ``FrontDoor.handle(Request) -> Response``; no server, no AWS client built here.

Routes::

    GET  /                  the web page (when ``page`` is on: ``make serve``)
    GET  /page.js, /page.css  its script and style
    GET  /health            {"ok": true}, no key needed
    POST /runs              start a run (202 + {"run", "status_url"})
    GET  /runs              the front door's recent runs and their status
    GET  /runs/{run}        one run: status, progress, pages, report URL
    POST /slack/commands    the Slack slash command, when a handler is mounted (``SlackHandler``)

``SlackHandler`` is the seam for the Slack endpoint (engineer "slack", issue #15): a callable
taking the raw body and the lower-cased headers, returning ``(status, headers, body)``. Slack
signs the raw bytes, so it gets them untouched, and it does its own authentication (the
signing secret): the API key does not apply. ``mount_slack`` mounts it when the module
``analyzer_lambda.slack.http`` exists: ``make_handler(front_door)`` if it has one (the handler
then starts runs with ``FrontDoor.submit`` and reads them with ``FrontDoor.describe``), else its
``handle``. Without the module the route answers 404 saying Slack is not set up."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.frontdoor import status as run_status
from analyzer_lambda.frontdoor.assets import ASSETS, asset
from analyzer_lambda.frontdoor.auth import Caller, authenticate
from analyzer_lambda.frontdoor.http import ApiError, Request, Response, json_response
from analyzer_lambda.frontdoor.launch import Launch, LaunchError
from analyzer_lambda.frontdoor.status import LaunchState
from analyzer_lambda.frontdoor.store import list_key
from analyzer_lambda.frontdoor.validation import Limits, parse_run_request
from rivalscope_core.records import utc_now_iso

if TYPE_CHECKING:
    from analyzer_lambda.frontdoor.config import ApiConfig
    from analyzer_lambda.frontdoor.launch import Launcher
    from analyzer_lambda.frontdoor.store import FrontStore
    from analyzer_lambda.frontdoor.throttle import Throttle
    from analyzer_lambda.frontdoor.validation import RunRequest
    from rivalscope_core.addresses import AddressPolicy

#: the Slack endpoint's handler: (raw body, lower-cased headers) -> (status, headers, body)
SlackHandler = Callable[[bytes, Mapping[str, str]], tuple[int, Mapping[str, str], bytes]]
SLACK_MODULE = "analyzer_lambda.slack.http"
SLACK_FUNCTION = "handle"
SLACK_FACTORY = "make_handler"
_RUN = re.compile(r"^/runs/(?P<run>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2})/?$")
_RECENT = 20


def mount_slack(front: FrontDoor) -> FrontDoor:
    """Mount ``analyzer_lambda.slack.http``'s handler on ``POST /slack/commands`` if that
    module is installed (a missing dependency of it is an error, not a silent 404)."""
    try:
        module = importlib.import_module(SLACK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and SLACK_MODULE.startswith(exc.name):
            return front
        raise
    factory = getattr(module, SLACK_FACTORY, None)
    handler: SlackHandler | None = (
        factory(front) if factory is not None else getattr(module, SLACK_FUNCTION, None)
    )
    front.slack = handler
    return front


@dataclass
class FrontDoor:
    config: ApiConfig
    store: FrontStore
    launcher: Launcher
    policy: AddressPolicy
    digests: Callable[[], tuple[str, ...]]  # the stored key digests (refreshed from AWS)
    starts: Throttle
    reads: Throttle
    page: bool = False
    slack: SlackHandler | None = None
    rewrite_url: Callable[[str], str] | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except ApiError as exc:
            return exc.response()
        except StoreError as exc:
            return ApiError(503, "storage_unavailable", f"S3 failed, try again: {exc}").response()

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method.upper()
        if path == "/health":
            return json_response(200, {"ok": True})
        if path in ASSETS and self.page:
            _allow(method, "GET")
            return asset(path)
        if path == "/slack/commands":
            _allow(method, "POST")
            return self._slack(request)
        if path in ("/runs", "/runs/"):
            _allow(method, "GET", "POST")
            caller = self._caller(request, starting=method == "POST")
            return self._start(request, caller) if method == "POST" else self._recent(request)
        match = _RUN.match(path)
        if match:
            _allow(method, "GET")
            self._caller(request, starting=False)
            return self._run(request, match["run"])
        raise ApiError(404, "not_found", f"no such endpoint: {method} {path}")

    def _caller(self, request: Request, *, starting: bool) -> Caller:
        caller = authenticate(request, mode=self.config.auth, digests=self.digests())
        wait = (self.starts if starting else self.reads).take(caller.id)
        if wait is not None:
            raise ApiError(
                429,
                "throttled",
                f"too many requests for this key: try again in {wait} s",
                headers={"retry-after": str(wait)},
                retry_after=wait,
            )
        return caller

    # --- POST /runs ------------------------------------------------------------------------
    def _start(self, request: Request, caller: Caller) -> Response:
        accepted = self.submit(request.body, caller)
        url = f"{_base_url(request)}/runs/{accepted['run']}"
        return json_response(202, {**accepted, "status_url": url}, {"location": url})

    def submit(self, body: bytes, caller: Caller) -> dict[str, Any]:
        """Validate, store the prompt and the request, start the run. Also the entry point for
        other front ends (Slack) that authenticated their caller themselves."""
        ids: dict[str, str | None] = {}

        def prompt_exists(name: str) -> bool:
            if name not in ids:
                ids[name] = self.store.prompt_id(name)
            return ids[name] is not None

        limits = Limits(self.config.max_urls, self.config.max_pages, self.config.max_body)
        req = parse_run_request(body, limits, self.policy, prompt_exists, self.rewrite_url)
        if req.prompt_text is not None:
            name, prompt_id = self.store.store_adhoc_prompt(req.prompt_text)
        else:
            name, prompt_id = str(req.prompt_name), str(ids[str(req.prompt_name)])
        record = self._record(req, caller, name, prompt_id)
        run = self.store.claim_run(record, self.clock())
        key = list_key(run, req.watchlist is not None)
        record |= {"run": run, "list_key": key}
        if req.watchlist is not None:
            self.store.write_list(key, req.watchlist.to_yaml())
            extra_urls = req.urls
        else:
            self.store.write_list(key, "".join(f"{url}\n" for url in req.urls))
            extra_urls = ()
        launch = Launch(
            run=run,
            bucket=self.store.bucket,
            list_key=key,
            prompt=name,
            max_pages=req.max_pages,
            urls=tuple(extra_urls),
            watchlist=req.watchlist is not None,
        )
        try:
            record |= self.launcher.start(launch)
        except LaunchError as exc:
            record["launch_error"] = str(exc)
            self.store.update_record(run, record)
            raise ApiError(502, "launch_failed", str(exc), run=run) from None
        self.store.update_record(run, record)
        return {
            "run": run,
            "status": "crawling",
            "urls": req.all_urls,
            "prompt": {"name": name, "prompt_id": prompt_id},
            "max_pages": req.max_pages,
        }

    def start_run(
        self,
        urls: Sequence[str],
        prompt: str | None,
        caller: Caller,
        *,
        max_pages: int = 1,
        base_url: str | None = None,
    ) -> dict[str, Any]:
        """``POST /runs`` for front ends that authenticated their caller themselves (the Slack
        command): the same checks, limits and storage; ``ApiError`` (its ``message`` is for the
        user) when refused. No prompt: the bundled default prompt, stored like an ad-hoc one
        (same text, same prompt id), so the run is reproducible too."""
        text = prompt if prompt and prompt.strip() else _default_prompt_text()
        body = json.dumps({"urls": list(urls), "prompt": text, "max_pages": max_pages})
        accepted = self.submit(body.encode("utf-8"), caller)
        if base_url:
            accepted["status_url"] = f"{base_url.rstrip('/')}/runs/{accepted['run']}"
        return accepted

    def _record(
        self, req: RunRequest, caller: Caller, name: str, prompt_id: str
    ) -> dict[str, Any]:
        return {
            "created_at": utc_now_iso(),
            "caller": caller.id,
            "urls": req.all_urls,
            "competitors": [c.name for c in req.watchlist.competitors] if req.watchlist else [],
            "prompt": {"name": name, "prompt_id": prompt_id, "adhoc": req.prompt_text is not None},
            "max_pages": req.max_pages,
        }

    # --- GET /runs, GET /runs/{run} ----------------------------------------------------------
    def _run(self, request: Request, run: str) -> Response:
        record = self.store.read_record(run) or self.store.outside_record(run)
        if record is None:
            raise ApiError(404, "no_such_run", f"there is no run {run} in this bucket")
        return json_response(200, self.describe(run, record, full=True, base=_base_url(request)))

    def _recent(self, request: Request) -> Response:
        base = _base_url(request)

        def look(run: str) -> dict[str, Any] | None:
            record = self.store.read_record(run)
            return None if record is None else self.describe(run, record, full=False, base=base)

        # a handful of small S3 calls per run, each waiting on the network: side by side
        with ThreadPoolExecutor(max_workers=8) as pool:
            runs = [r for r in pool.map(look, self.store.recent_runs(_RECENT)) if r is not None]
        return json_response(200, {"runs": runs})

    def describe(
        self, run: str, record: dict[str, Any], *, full: bool, base: str
    ) -> dict[str, Any]:
        prompt_id = (record.get("prompt") or {}).get("prompt_id")
        facts = self.store.run_facts(run, prompt_id, with_results=full)
        # a run started elsewhere (the schedule, scripts/run-crawl): S3 alone tells its state
        launch = LaunchState() if record.get("outside") else self.launcher.state(run, record)
        state, error = run_status.run_state(facts, launch)
        presign = self.store.presigner(self.config.url_expires)
        answer: dict[str, Any] = {
            "run": run,
            "status": state,
            "error": error,
            "created_at": record.get("created_at"),
            "urls": record.get("urls", []),
            "competitors": record.get("competitors", []),
            "prompt": record.get("prompt"),
            "max_pages": record.get("max_pages"),
            "progress": run_status.progress(facts),
            "report_url": run_status.report_url(facts, presign),
            "status_url": f"{base}/runs/{run}",
            "urls_expire_in": self.config.url_expires,
        }
        if full:
            answer["pages"] = run_status.pages(facts, prompt_id, presign)
        return answer

    # --- POST /slack/commands ----------------------------------------------------------------
    def _slack(self, request: Request) -> Response:
        if self.slack is None:
            raise ApiError(
                404,
                "slack_not_configured",
                f"the Slack endpoint is not installed here ({SLACK_MODULE} is missing)",
            )
        code, headers, body = self.slack(request.body, request.headers)
        return Response(int(code), bytes(body), {k.lower(): v for k, v in headers.items()})


def _default_prompt_text() -> str:
    bundled = resources.files("analyzer_lambda.prompts").joinpath("default_prompt.md")
    return bundled.read_text("utf-8")


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise ApiError(
            405,
            "method_not_allowed",
            f"use {' or '.join(allowed)}",
            headers={"allow": ", ".join(allowed)},
        )


def _base_url(request: Request) -> str:
    # Host is the function URL's own domain (or 127.0.0.1:PORT); X-Forwarded-Host would be
    # whatever a client sent, so it is not used
    host = request.headers.get("host") or "localhost"
    proto = request.headers.get("x-forwarded-proto", "http")  # the function URL sets https
    proto = proto if proto in ("http", "https") else "http"
    return f"{proto}://{host}"
