"""A stored run on the moto server, as the crawler and the analyser leave it: two gzipped raw
chunks whose page records carry real PNG/WebP screenshots (drawn with Pillow), and result
records written at ``keys.analysis_key`` (a pure function, so the analyser's handler is not
needed). The answers are the real ``extract`` analyser's, on the fixture pages of
``tests/data/pages``. One page's title and answer carry markup, to prove it is escaped.

Chunk 0 (3 pages): all analysed. Chunk 3 (3 pages): one analysis failed, one page is not
analysed yet, one crawl failed (no screenshot, an error result)."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from PIL import Image, ImageDraw, ImageFont
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from analyzer_lambda.analyzers.extract import ExtractAnalyzer
from analyzer_lambda.prompts.parser import parse_prompt
from rivalscope_core.keys import ChunkRef, RunRef, analysis_key
from rivalscope_core.records import ErrorInfo, PageRecord, ResultRecord, Screenshot

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.servers.moto import MotoServer

ROOT = Path(__file__).resolve().parents[3]
PAGES = ROOT / "tests" / "data" / "pages"
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
PROMPT_TEXT = "---\nname: overview\n---\nWhat does this page offer?\n"
MODEL = "extract-v1"


class _Plenty:
    def remaining(self) -> float:
        return 60.0


def screenshot(title: str, accent: tuple[int, int, int], fmt: str, height: int) -> Screenshot:
    """A plausible full-page capture: header bar, hero, three pricing cards, text lines."""
    width = 1280
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(CJK_FONT), 40) if CJK_FONT.exists() else None
    draw.rectangle((0, 0, width, 72), fill=(22, 32, 58))
    draw.text((40, 16), title, fill="white", font=font)
    draw.rectangle((0, 72, width, 460), fill=accent)
    draw.text((80, 200), title, fill="white", font=font)
    for i in range(3):
        left = 80 + i * 390
        draw.rounded_rectangle((left, 520, left + 350, 980), 18, outline=(200, 205, 215), width=3)
        draw.rectangle((left + 30, 560, left + 200, 600), fill=accent)
    for y in range(1040, height - 40, 48):
        draw.rectangle((80, y, 80 + (y * 37) % 900 + 200, y + 18), fill=(225, 229, 236))
    out = io.BytesIO()
    image.save(out, format=fmt.upper(), **({"quality": 80} if fmt == "webp" else {}))
    data = base64.b64encode(out.getvalue()).decode("ascii")
    return Screenshot(format=fmt, width=width, height=height, data=data)


def page(url: str, fixture: str | None, shot: Screenshot | None, **extra: Any) -> PageRecord:
    body = (PAGES / fixture).read_text("utf-8") if fixture else ""
    return PageRecord(
        url=url,
        final_url=url,
        status=extra.pop("status", 200),
        crawled_at=extra.pop("crawled_at", "2026-11-23T21:40:12.000000Z"),
        body=body,
        title=extra.pop("title", None),
        screenshot=shot,
        **extra,
    )


@dataclass(frozen=True)
class StoredRun:
    bucket: str
    run: RunRef
    chunks: list[ChunkRef]
    prompt_file: Path
    prompt_id: str
    pages: list[PageRecord]

    @property
    def uri(self) -> str:
        return self.run.uri


def _put_chunk(s3: Any, chunk: ChunkRef, records: list[PageRecord]) -> None:
    lines = "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)
    s3.put_object(Bucket=chunk.bucket, Key=chunk.key, Body=gzip.compress(lines.encode("utf-8")))


def _result(chunk: ChunkRef, line: int, rec: PageRecord, prompt_id: str, **kw: Any) -> str:
    return ResultRecord(
        url=rec.url, final_url=rec.final_url, crawled_at=rec.crawled_at, chunk=chunk.uri,
        line=line, prompt_id=prompt_id, model=MODEL, analyzer="extract", **kw,
    ).to_json()  # fmt: skip


def store_run(s3: Any, bucket: str, prompt_dir: Path) -> StoredRun:
    run = RunRef(bucket, "competitors", "2026-11-23T21-40-00")
    prompt_file = prompt_dir / "overview.md"
    prompt_file.write_text(PROMPT_TEXT, encoding="utf-8")
    prompt = parse_prompt(PROMPT_TEXT, fallback_name="overview")
    first = ChunkRef(bucket, f"{run.raw_prefix}items.0000000.jl.gz")
    second = ChunkRef(bucket, f"{run.raw_prefix}items.0000003.jl.gz")
    chunk_pages = {
        first: [
            page("https://acme.example/pricing", "saas_pricing_en.html",
                 screenshot("Acme Analytics — Pricing", (52, 84, 209), "png", 3200)),
            page("https://kantan-chobo.example.jp/price/", "pricing_ja.html",
                 screenshot("料金プラン｜かんたん帳簿", (16, 122, 87), "webp", 2600)),
            page("https://widgetly.example/blog/builds", "blog_no_prices.html",
                 screenshot("Widgetly Engineering", (180, 83, 9), "png", 2200)),
        ],
        second: [
            page("https://acme.example/features", "saas_pricing_en.html",
                 screenshot("Acme — Features", (99, 60, 180), "png", 1800)),
            page("https://widgetly.example/evil", "blog_no_prices.html",
                 screenshot("Widgetly <script>", (120, 120, 120), "png", 1500), title=XSS),
            page("https://down.example/", None, None, status=None,
                 error=ErrorInfo("timeout", "page load timed out after 30 s")),
        ],
    }  # fmt: skip
    for chunk, records in chunk_pages.items():
        _put_chunk(s3, chunk, records)
    analyzer = ExtractAnalyzer()

    def put(chunk: ChunkRef, line: int, body: str) -> None:
        key = analysis_key(chunk, line, prompt.prompt_id, MODEL)
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))

    for line, rec in enumerate(chunk_pages[first], start=1):
        answer = analyzer.analyze(rec, prompt, _Plenty()).answer
        put(first, line, _result(first, line, rec, prompt.prompt_id, analysis=answer))
    features, evil, _down = chunk_pages[second]
    error = ErrorInfo("model_error", "Gemini answered 500 three times <b>not bold</b>")
    put(second, 1, _result(second, 1, features, prompt.prompt_id, analysis=None, error=error))
    evil_answer = {**analyzer.analyze(evil, prompt, _Plenty()).answer, "title": XSS}  # type: ignore[dict-item]
    evil_answer["calls_to_action"] = [{"text": XSS, "href": "javascript:window.__xss=3"}]
    put(second, 2, _result(second, 2, evil, prompt.prompt_id, analysis=evil_answer))
    # line 3 (the crawl failure) has no result yet: "not analysed"
    # a claim object beside the results must be ignored by the report
    s3.put_object(
        Bucket=bucket,
        Key=analysis_key(second, 3, prompt.prompt_id, MODEL)[:-5] + ".claim",
        Body=b"{}",
    )
    pages = [*chunk_pages[first], *chunk_pages[second]]
    return StoredRun(bucket, run, [first, second], prompt_file, prompt.prompt_id, pages)


def run_report(moto: MotoServer, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": moto.endpoint, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "analyzer_lambda.report", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stored_run(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> StoredRun:
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    bucket = f"report-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    return store_run(s3, bucket, tmp_path_factory.mktemp("prompt"))


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="report-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
