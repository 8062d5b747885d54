from __future__ import annotations

import datetime
import decimal
import io
import json
from typing import Any

import pytest
from scrapy.exporters import JsonLinesItemExporter

from crawler.exporters import OrjsonLinesItemExporter
from crawler.items import PageItem
from crawler.pipelines import _base_init_without_client
from rivalscope_core.records import ErrorInfo, PageRecord, Screenshot
from tests.project_settings import project_settings


def _line(exporter_cls: type[JsonLinesItemExporter], item: Any, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    exporter = exporter_cls(out, **kwargs)
    exporter.start_exporting()
    exporter.export_item(item)
    exporter.finish_exporting()
    return out.getvalue()


def _page() -> PageItem:
    record = PageRecord(
        url="https://example.test/価格?q=1",
        final_url="https://example.test/価格",
        status=200,
        crawled_at="2026-12-03T16:00:00Z",
        body='<p class="x">料金 "quoted" \\ back\tslash\n\x00\x1f \u2028 😀</p>',
        title="Prices — 料金",
        screenshot=Screenshot("jpeg", 1280, 5700, "/9j/" + "QUJD+/=" * 20_000, False, 5700),
        prompt="pricing",
        competitor="Acme",
        error=ErrorInfo("http_status", "HTTP 500"),
        ignored_boxes=((0, 10, 1280, 90), (5, 6, 7, 8)),
    )
    return PageItem.from_record(record)


def test_a_page_line_means_what_scrapys_line_means() -> None:
    item = _page()
    ours = _line(OrjsonLinesItemExporter, item, encoding="utf-8")
    scrapys = _line(JsonLinesItemExporter, item, encoding="utf-8")
    assert ours.endswith(b"\n")
    assert ours.count(b"\n") == 1
    assert json.loads(ours) == json.loads(scrapys)
    # the same keys in the same (SPEC.md) order
    assert list(json.loads(ours)) == list(json.loads(scrapys))


def test_types_json_cannot_write_go_through_scrapys_encoder() -> None:
    item = {
        "tags": {"b"},
        "at": datetime.datetime(2026, 12, 3, 16, 0, 0, 123456, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 12, 3),
        "price": decimal.Decimal("9.90"),
        "nested": _page(),
        "counts": {1: "a number key"},
    }
    ours = _line(OrjsonLinesItemExporter, item, encoding="utf-8")
    assert json.loads(ours) == json.loads(_line(JsonLinesItemExporter, item, encoding="utf-8"))


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"encoding": "latin-1"}, {"encoding": "utf-8", "sort_keys": True}],
)
def test_other_configurations_are_scrapys_own_bytes(kwargs: dict[str, Any]) -> None:
    item = {"b": "é", "a": 1}
    assert _line(OrjsonLinesItemExporter, item, **kwargs) == _line(
        JsonLinesItemExporter, item, **kwargs
    )


def test_the_pipeline_writes_its_chunks_with_it() -> None:
    class Pipeline:
        pass

    pipeline: Any = Pipeline()
    settings = project_settings(S3PIPELINE_URL="s3://b/raw/{name}/{time}/items.{chunk:07d}.jl.gz")
    _base_init_without_client(pipeline, settings, None)
    assert pipeline.exporter_cls is OrjsonLinesItemExporter
