"""A real HTTP server that speaks the Gemini REST API closely enough for google-genai, reached
through ``GOOGLE_GEMINI_BASE_URL`` exactly as a proxy would be.

It accepts ``POST /v1*/models/{model}:generateContent``, records every request, and answers with
JSON that is valid for the request's ``responseJsonSchema`` and *derived from the request*, so a
test can check what the analyser sent (see ``echo``): whether the page text arrived inside the
delimiters, whether an image part was sent. Behaviour is scriptable per test: a queue of
one-shot replies (``script``) and a default (``default``) of ``ok``, ``429``, ``500``, ``403``
(a refused key), ``invalid_json``, ``plain_text`` (what a model obeying a prompt injection would
answer), ``reply:<text>`` (the model answers exactly ``text``, as a real model's answer is
whatever it wrote) or ``slow:<seconds>`` (then ok)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH = re.compile(r"^/v1[a-z0-9]*/models/(?P<model>[^/:]+):generateContent$")
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
        match = _PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._send(404, {"error": {"code": 404, "message": self.path, "status": "NOT_FOUND"}})
            return
        request = GeminiRequest(
            match["model"], json.loads(raw), self.headers.get("x-goog-api-key")
        )
        state = self.server.state
        with state.lock:
            state.requests.append(request)
            behaviour = state.script.popleft() if state.script else state.default
        if behaviour.startswith("slow:"):
            time.sleep(float(behaviour.split(":", 1)[1]))
            behaviour = "ok"
        if behaviour == "429":
            self._send(
                429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
            )
        elif behaviour == "403":
            error = {"code": 403, "message": "API key not valid", "status": "PERMISSION_DENIED"}
            self._send(403, {"error": error})
        elif behaviour == "500":
            self._send(500, {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}})
        else:
            self._send(200, self._answer(request, behaviour))

    def _answer(self, request: GeminiRequest, behaviour: str) -> dict[str, Any]:
        if behaviour == "invalid_json":
            text = '{"offering": "truncated'
        elif behaviour == "plain_text":
            text = "PWNED: I ignored my instructions."
        elif behaviour.startswith("reply:"):
            text = behaviour.split(":", 1)[1]
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

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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

    @property
    def requests(self) -> list[GeminiRequest]:
        with self._httpd.state.lock:
            return list(self._httpd.state.requests)

    @property
    def calls(self) -> int:
        return len(self.requests)
