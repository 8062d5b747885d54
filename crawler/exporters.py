"""The JSON-lines exporter of the page chunks: Scrapy's own, its encoding done by orjson.

Each page record carries its screenshot as a megabyte of base64 text. The standard library's
encoder escapes such a string character by character into a new ``str``, which Scrapy then
encodes to UTF-8 bytes: ~6.8 ms of the crawler's CPU a page, the largest share of the crawler's
own python code in a profile of the crawl benchmark (bench/RESULTS.md, "Render cost (issue
#16)", "The crawler's own python"). orjson writes the UTF-8 line directly in ~0.1 ms.

The line means exactly what Scrapy's line means (the same keys in the same order, the same
values; SPEC.md "Page record"), but is compact JSON: no space after ``:`` and ``,``. Types
orjson does not write as ``json`` would (sets, dates, decimals, dataclasses, items, requests)
go through Scrapy's ``ScrapyJSONEncoder.default``, as with Scrapy's exporter. An exporter
configured beyond that (another encoding, ``indent``, ``sort_keys``, ensure_ascii) is left to
Scrapy's code as it is.
"""

from __future__ import annotations

from typing import Any

import orjson
from scrapy.exporters import JsonLinesItemExporter

# Everything orjson would write differently from ``json`` goes to ``default`` instead.
_OPTIONS = (
    orjson.OPT_APPEND_NEWLINE
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_UTF8 = frozenset({"utf-8", "utf8"})


class OrjsonLinesItemExporter(JsonLinesItemExporter):
    def __init__(self, file: Any, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        # Only Scrapy's default JSON for a UTF-8 feed is what orjson writes.
        self._fast = str(self.encoding or "").lower() in _UTF8 and self._kwargs == {
            "ensure_ascii": False
        }

    def export_item(self, item: Any) -> None:
        if not self._fast:
            super().export_item(item)
            return
        fields = dict(self.get_serialized_fields(item))
        self.file.write(orjson.dumps(fields, default=self.encoder.default, option=_OPTIONS))
