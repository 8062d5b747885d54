"""Batch requests, made from exactly what the interactive call sends (``gemini.call``): the same
``contents`` and ``GenerateContentConfig``, wrapped as the SDK's ``InlinedRequest`` with the
page's result key as ``metadata.key``, and, for a file batch, the JSONL line the API reads —
``{"key": ..., "request": GenerateContentRequest}`` — which is produced by the SDK's own
converter for inlined requests, so both forms carry the same JSON.

Lines are written to a spooled file as they are built (a screenshot is ~100-300 KB of base64; a
thousand of them do not stay in memory); the ``InlinedRequest`` objects are kept only while the
submission still fits the inline limit."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from analyzer_lambda.analyzers.gemini.call import sdk_request

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

    from analyzer_lambda.analyzers.gemini.request import GeminiRequest
    from analyzer_lambda.config import Config
    from analyzer_lambda.prompts.parser import Prompt

_SPOOL_BYTES = 32 * 1024 * 1024


@dataclass
class RequestFile:
    """The JSONL lines of a submission, in order, with each one's key, offset and size."""

    keys: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    inlined: list[types.InlinedRequest] | None = field(default_factory=list)
    inline_room: int = 0
    total: int = 0
    spool: IO[bytes] = field(
        default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by close()
    )

    def __len__(self) -> int:
        return len(self.keys)

    def lines(self, start: int, end: int) -> bytes:
        """Lines ``start`` to ``end`` (exclusive), as the JSONL bytes of one job's file."""
        if start >= end:
            return b""
        begin = self.offsets[start]
        stop = self.offsets[end - 1] + self.sizes[end - 1]
        self.spool.seek(begin)
        data = self.spool.read(stop - begin)
        self.spool.seek(0, 2)
        return data

    def close(self) -> None:
        self.spool.close()


class RequestBuilder:
    """Adds one page's request at a time to a ``RequestFile``."""

    def __init__(self, client: genai.Client, config: Config, model: str, inline_room: int):
        self._client = client
        self._config = config
        self._model = model
        self.file = RequestFile(inline_room=inline_room)

    def add(self, key: str, request: GeminiRequest, prompt: Prompt) -> int:
        """Append the request for ``key``; its size in bytes."""
        from google.genai import types

        contents, generation = sdk_request(request, prompt, self._config)
        inlined = types.InlinedRequest(
            model=self._model, contents=contents, config=generation, metadata={"key": key}
        )
        line = (json.dumps(self.rest_line(inlined), ensure_ascii=False) + "\n").encode()
        file = self.file
        file.keys.append(key)
        file.offsets.append(file.spool.tell())
        file.sizes.append(len(line))
        file.spool.write(line)
        file.total += len(line)
        if file.inlined is not None:
            file.inlined.append(inlined)
            if file.total > file.inline_room:
                file.inlined = None  # too big to go inline: it will be a file
        return len(line)

    def rest_line(self, inlined: types.InlinedRequest) -> dict[str, Any]:
        """The JSONL line of one request, by the SDK's converter of inlined requests (the one
        ``batches.create`` applies to inline sources), so both forms send the same JSON."""
        from google.genai import _common
        from google.genai import batches as sdk_batches

        converted = sdk_batches._InlinedRequest_to_mldev(self._client._api_client, inlined)
        rest: dict[str, Any] = _common.encode_unserializable_types(
            _common.convert_to_dict(converted)
        )
        metadata = rest.get("metadata") or {}
        return {"key": metadata.get("key"), "request": rest["request"]}
