"""A finished run's answer, read from the report the run-complete step just stored: each
page's result (``results.jsonl``), its screenshot (the ``screenshot`` column of
``results.csv``) or, when the page changed, the crop of its change (``changes/NAME-K.after.webp``
beside the report), and the report's own link.

The report is the answer's only source, so Slack shows exactly what the report shows, and the
posting needs no page chunk (megabytes of HTML) at all."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING

from analyzer_lambda.slack.messages import PageAnswer
from rivalscope_core.keys import parse_s3_uri

if TYPE_CHECKING:
    from collections.abc import Iterable

    from analyzer_lambda.slack.store import SlackStore

_CROP = re.compile(r"^changes/(?P<name>.+)-(?P<k>[0-9]+)\.after\.webp$")


def report_prefix_of(report_uri: str) -> str:
    """``reports/.../`` of ``s3://BUCKET/reports/.../report.html``."""
    key = parse_s3_uri(report_uri).key
    return key.rsplit("/", 1)[0] + "/"


def read_answer(store: SlackStore, report_uri: str) -> list[PageAnswer]:
    """The run's pages in report order; a page whose screenshot is missing is still shown."""
    prefix = report_prefix_of(report_uri)
    results = store.read_bytes(prefix + "results.jsonl") or b""
    shots = _screenshots(store.read_bytes(prefix + "results.csv") or b"")
    crops = _first_crops(key.removeprefix(prefix) for key in store.keys_under(prefix + "changes/"))
    pages = []
    for line in results.decode("utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        shot = shots.get((str(record.get("chunk")), int(record.get("line") or 0)))
        # screenshots/items.0000000-3.png → items.0000000-3 (chunk stems hold dots)
        name = shot.rsplit("/", 1)[-1].rsplit(".", 1)[0] if shot else None
        crop = crops.get(name) if name else None
        image = crop or shot
        pages.append(
            PageAnswer(
                url=str(record.get("url") or ""),
                final_url=record.get("final_url"),
                competitor=record.get("competitor"),
                analysis=record.get("analysis"),
                error=record.get("error"),
                image_key=prefix + image if image else None,
                image_is_crop=crop is not None,
            )
        )
    return pages


def _screenshots(csv_bytes: bytes) -> dict[tuple[str, int], str]:
    """``(chunk, line) → screenshots/NAME.EXT`` from the report's CSV (UTF-8 with a BOM)."""
    found = {}
    for row in csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))):
        path = (row.get("screenshot") or "").lstrip("'")
        if path.startswith("screenshots/") and ".." not in path:
            found[(row.get("chunk") or "", int(row.get("line") or 0))] = path
    return found


def _first_crops(paths: Iterable[str]) -> dict[str, str]:
    """Each page's first crop (the topmost change) by the page's file name."""
    best: dict[str, tuple[int, str]] = {}
    for path in paths:
        match = _CROP.match(path)
        if match is None:
            continue
        k = int(match["k"])
        if match["name"] not in best or k < best[match["name"]][0]:
            best[match["name"]] = (k, path)
    return {name: path for name, (_, path) in best.items()}
