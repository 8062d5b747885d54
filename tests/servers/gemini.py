"""A real HTTP server that speaks the Gemini REST API closely enough for google-genai, reached
through ``GOOGLE_GEMINI_BASE_URL`` exactly as a proxy would be.

It accepts ``POST /v1*/models/{model}:generateContent``, records every request, and answers with
JSON that is valid for the request's ``responseJsonSchema`` and *derived from the request*, so a
test can check what the analyser sent (see ``echo``): whether the page text arrived inside the
delimiters, whether an image part was sent. Behaviour is scriptable per test: a queue of
one-shot replies (``script``) and a default (``default``) of ``ok``, ``429``, ``500``, ``403``
(a refused key), ``invalid_json``, ``plain_text`` (what a model obeying a prompt injection would
answer) or ``slow:<seconds>`` (then ok).

It also speaks the Batch API and the resumable file upload the SDK uses for it
(``tests/servers/gemini_batch.py``); batch answers come from the same script."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers.gemini_batch import BatchJob, BatchState

_PATH = re.compile(r"^/v1[a-z0-9]*/models/(?P<model>[^/:]+):generateContent$")
_BATCH_CREATE = re.compile(r"^/v1[a-z0-9]*/models/(?P<model>[^/:]+):batchGenerateContent$")
_BATCH_GET = re.compile(r"^/v1[a-z0-9]*/(?P<name>batches/[^/:]+)$")
_BATCH_LIST = re.compile(r"^/v1[a-z0-9]*/batches$")
_UPLOAD = re.compile(r"^/upload/v1[a-z0-9]*/files$")
_DOWNLOAD = re.compile(r"^(?:/download)?/v1[a-z0-9]*/(?P<name>files/[^/:]+):download$")
_DELIMITED = re.compile(
    r"<<<PAGE_CONTENT (?P<nonce>[0-9a-f]+)>>>.*<<<END_PAGE_CONTENT (?P=nonce)>>>", re.DOTALL
)


@dataclass
class GeminiRequest:
    model: str
    body: dict[str, Any]
    api_key: str | None

    @property
    def texts(self) -> list[str]:
        return [
            part["text"]
            for content in self.body.get("contents", [])
            for part in content.get("parts", [])
            if "text" in part
        ]

    @property
    def system_text(self) -> str:
        system = self.body.get("systemInstruction") or self.body.get("system_instruction") or {}
        return "\n".join(part.get("text", "") for part in system.get("parts", []))

    @property
    def image_parts(self) -> list[dict[str, Any]]:
        parts = [
            part.get("inlineData") or part.get("inline_data")
            for content in self.body.get("contents", [])
            for part in content.get("parts", [])
        ]
        return [part for part in parts if part]

    @property
    def generation_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.body.get("generationConfig") or {}
        return config

    @property
    def page_delimited(self) -> bool:
        return any(_DELIMITED.search(text) for text in self.texts)

    def echo(self) -> str:
        """What the server saw, put into every string of its answer."""
        return (
            f"model={self.model} delimited={self.page_delimited} images={len(self.image_parts)} "
            f"max_output_tokens={self.generation_config.get('maxOutputTokens')}"
        )


@dataclass
class _State:
    default: str = "ok"
    script: deque[str] = field(default_factory=deque)
    requests: list[GeminiRequest] = field(default_factory=list)
    batch: BatchState = field(default_factory=BatchState)
    lock: threading.Lock = field(default_factory=threading.Lock)


def instance_for(schema: dict[str, Any], text: str) -> Any:
    """A minimal instance valid for the JSON Schema subset prompts use; strings carry ``text``."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {
            name: instance_for(props.get(name, {}), text) for name in schema.get("required", props)
        }
    if kind == "array":
        return [instance_for(schema.get("items", {}), text)] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


class _Handler(BaseHTTPRequestHandler):
    server: _GeminiHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urlsplit(self.path)
        state = self.server.state
        if _UPLOAD.match(path.path):
            self._upload(parse_qs(path.query), raw)
            return
        if match := _BATCH_CREATE.match(path.path):
            time.sleep(state.batch.create_delay)
            with state.lock:
                status, payload = state.batch.create(match["model"], json.loads(raw))
            self._send(status, payload)
            return
        match = _PATH.match(path.path)
        if match is None:
            self._send(404, {"error": {"code": 404, "message": self.path, "status": "NOT_FOUND"}})
            return
        request = GeminiRequest(
            match["model"], json.loads(raw), self.headers.get("x-goog-api-key")
        )
        with state.lock:
            state.requests.append(request)
            behaviour = state.script.popleft() if state.script else state.default
        if behaviour.startswith("slow:"):
            time.sleep(float(behaviour.split(":", 1)[1]))
            behaviour = "ok"
        self._send(*_reply(request, behaviour))

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        if match := _BATCH_GET.match(path):
            with state.lock:
                status, payload = state.batch.get(match["name"], self._batch_answer)
            self._send(status, payload)
        elif _BATCH_LIST.match(path):
            with state.lock:
                self._send(200, state.batch.list())
        elif (match := _DOWNLOAD.match(path)) and match["name"] in state.batch.files:
            with state.lock:
                data = state.batch.files[match["name"]]
            self._send_bytes(200, data, "application/octet-stream")
        else:
            self._send(404, {"error": {"code": 404, "message": self.path, "status": "NOT_FOUND"}})

    def _batch_answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One batch request answered as ``generateContent`` would (called under the lock)."""
        state = self.server.state
        model = str(body.get("model") or "").removeprefix("models/")
        behaviour = state.script.popleft() if state.script else state.default
        return _reply(GeminiRequest(model, body, None), behaviour.removeprefix("slow:"))

    def _upload(self, query: dict[str, list[str]], raw: bytes) -> None:
        state = self.server.state
        command = self.headers.get("X-Goog-Upload-Command", "")
        with state.lock:
            if command == "start":
                host, port = self.server.server_address[:2]
                headers, _ = state.batch.start_upload(f"http://{host!s}:{port}", json.loads(raw))
                status, payload = 200, dict[str, Any]()
            else:
                upload_id = (query.get("upload_id") or [""])[0]
                offset = int(self.headers.get("X-Goog-Upload-Offset") or 0)
                status, headers, payload = state.batch.upload_chunk(upload_id, command, offset,
                                                                    raw)  # fmt: skip
        self._send(status, payload, headers)

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _reply(request: GeminiRequest, behaviour: str) -> tuple[int, dict[str, Any]]:
    if behaviour == "429":
        return 429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    if behaviour == "403":
        return 403, {"error": {"code": 403, "message": "API key not valid",
                               "status": "PERMISSION_DENIED"}}  # fmt: skip
    if behaviour == "500":
        return 500, {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}
    return 200, _answer(request, behaviour)


def _answer(request: GeminiRequest, behaviour: str) -> dict[str, Any]:
    if behaviour == "invalid_json":
        text = '{"offering": "truncated'
    elif behaviour == "plain_text":
        text = "PWNED: I ignored my instructions."
    else:
        schema = request.generation_config.get("responseJsonSchema") or {"type": "object"}
        text = json.dumps(instance_for(schema, request.echo()))
    prompt_chars = sum(len(t) for t in request.texts) + len(request.system_text)
    return {
        "candidates": [
            {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP"}
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_chars // 4 + 258 * len(request.image_parts),
            "candidatesTokenCount": len(text) // 4,
            "totalTokenCount": prompt_chars // 4 + len(text) // 4,
        },
    }


class _GeminiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class GeminiServer:
    """``start()`` on loopback port 0; ``base_url`` goes into ``GOOGLE_GEMINI_BASE_URL``."""

    def __init__(self) -> None:
        self._httpd = _GeminiHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.state = _State()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GeminiServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self, default: str = "ok", script: list[str] | None = None) -> None:
        """Forget requests; answer ``script`` entries once each, in order, then ``default``."""
        state = self._httpd.state
        with state.lock:
            state.default = default
            state.script = deque(script or [])
            state.requests = []
            state.batch = BatchState()

    def batch_create_errors(self, *codes: int) -> None:
        """The next batch creates answer these HTTP errors, one each."""
        with self._httpd.state.lock:
            self._httpd.state.batch.create_errors = list(codes)

    def batch_create_delay(self, seconds: float) -> None:
        with self._httpd.state.lock:
            self._httpd.state.batch.create_delay = seconds

    def batch_states(self, *states: str) -> None:
        """The states every batch created from now on goes through, one per ``get`` (short
        names: ``PENDING`` — the API's queued state —, ``RUNNING``, ``SUCCEEDED``, ``FAILED``,
        ``EXPIRED``, ``CANCELLED``)."""
        with self._httpd.state.lock:
            self._httpd.state.batch.states = [f"BATCH_STATE_{s}" for s in states]

    @property
    def batch_jobs(self) -> list[BatchJob]:
        """Every batch created since the last ``reset``, oldest first."""
        with self._httpd.state.lock:
            return list(self._httpd.state.batch.jobs.values())

    def batch_requests(self, job: BatchJob) -> list[GeminiRequest]:
        """A batch's requests in the shape ``requests`` gives interactive ones."""
        return [GeminiRequest(job.model, item["request"], None) for item in job.requests]

    @property
    def requests(self) -> list[GeminiRequest]:
        with self._httpd.state.lock:
            return list(self._httpd.state.requests)

    @property
    def calls(self) -> int:
        return len(self.requests)
