"""The digest where users meet it: ``python -m analyzer_lambda.report`` on the second of two
runs stored in moto (a price changed, a page appeared, one went), analysed by the handler with
the fake Gemini; and the run-complete step off a shard marker, which stores it under
``reports/``. The digest request is checked on the body the fake server received."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from rivalscope_core.keys import RunRef, marker_key
from rivalscope_core.markers import ShardMarker
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, retarget
from tests.integration.analyzer.test_reuse import FAQ, RUNS, _analyse_run, _records, _results_of
from tests.integration.report.conftest import run_report

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

SUMMARY = "Starter <b>went</b> from $49 to $59 a month."
ANSWER = {"points": [{"importance": "high", "competitor": "x", "url": "https://acme.example/",
                      "summary": SUMMARY}]}  # fmt: skip


def _two_runs(s3: S3Client, bucket: str) -> tuple[str, str]:
    """Run 1, then run 2 with Acme's price up, a new page and one gone; (key, prompt id)."""
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    second = _records(RUNS[1], price="$59")
    second[1] = page("japanese.html", url="https://example.com/new.html", crawled_at="x")
    key = _analyse_run(s3, bucket, RUNS[1], second)
    prompt_id = next(iter(_results_of(s3, bucket, RUNS[1]).values()))["prompt_id"]
    return key, str(prompt_id)


def test_the_report_writes_the_digest_of_the_changes_and_opens_with_it(
    s3: S3Client, bucket: str, gemini: GeminiServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    _, prompt_id = _two_runs(s3, bucket)
    gemini.reset(script=["reply:" + json.dumps(ANSWER)])
    done = run_report(moto_server, f"s3://{bucket}/raw/competitors/{RUNS[1]}/", "--prompt",
                      prompt_id, "--out", tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"digest: {tmp_path / 'digest.md'} (gemini-2.5-flash)" in done.stdout

    [request] = gemini.requests  # the digest's only: pages were analysed before the reset
    [text] = request.texts
    assert "Starter $59 per month" in text
    assert "Starter $49 per month" in text
    assert FAQ[0] not in text  # an unchanged line of the changed page: not sent
    assert "https://example.com/pricing.html" not in text  # an unchanged page: not sent
    assert "https://example.com/japanese.html" in text  # the page that went
    assert request.image_parts == []

    digest = (tmp_path / "digest.md").read_text("utf-8")
    assert "- **high** · **acme.example** — Starter <b>went</b> from $49 to $59 a month." in (
        digest.replace("\\<", "<").replace("\\>", ">")
    )
    assert "\\<b\\>went\\</b\\>" in digest  # literal in Markdown, not markup
    usage = json.loads((tmp_path / "digest.json").read_text())["usage"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0

    html = (tmp_path / "report.html").read_text("utf-8")
    section = html[html.index('<section class="digest"') : html.index("</section>")]
    assert html.index('<section class="digest"') < html.index('<section class="summary"')
    assert "Starter &lt;b&gt;went&lt;/b&gt; from $49 to $59 a month." in section
    assert "<b>went</b>" not in html
    assert '<a href="https://acme.example/"' in section
    assert "1 changed, 1 new, 1 removed, 0 failed and 0 blocked, of 3 pages" in section


def test_no_compare_writes_no_digest(
    s3: S3Client, bucket: str, gemini: GeminiServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    _, prompt_id = _two_runs(s3, bucket)
    (tmp_path / "digest.md").write_text("last week's digest")
    calls = gemini.calls
    done = run_report(moto_server, f"s3://{bucket}/raw/competitors/{RUNS[1]}/", "--prompt",
                      prompt_id, "--out", tmp_path, "--no-compare")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert gemini.calls == calls
    assert not (tmp_path / "digest.md").exists()
    assert '<section class="digest"' not in (tmp_path / "report.html").read_text("utf-8")


def test_the_run_complete_step_stores_the_digest_with_the_report(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_LANGUAGE", "ja")
    chunk, prompt_id = _two_runs(s3, bucket)
    gemini.reset(default="500")  # Gemini down: the run still gets its digest, offline
    run = RunRef(bucket, "competitors", RUNS[1])
    now = datetime.now(UTC)
    marker = ShardMarker(
        run=RUNS[1], spider="competitors", shard_index=0, shard_count=1, chunks=[chunk],
        pages=3, errors=0, started_at=(now - timedelta(minutes=2)).isoformat(),
        ended_at=now.isoformat(), exit_code=0, cpu_seconds=1.0, peak_memory_bytes=1,
        finish_reason="finished",
    )  # fmt: skip
    key = marker_key(run, 0, 1)
    s3.put_object(Bucket=bucket, Key=key, Body=marker.to_json())
    answer = lambda_handler(retarget(load_event("s3_put.json"), bucket, key), LocalContext(120))
    [outcome] = answer["runs"]
    assert outcome["outcome"] == "done"
    prefix = f"reports/competitors/{RUNS[1]}/{prompt_id}/"
    assert outcome["digest"] == f"s3://{bucket}/{prefix}digest.md"

    def read(name: str) -> str:
        return s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read().decode("utf-8")

    digest = read("digest.md")
    assert digest.startswith(f"# rivalscope ダイジェスト・実行 {RUNS[1]}\n")
    assert (
        "価格の表記が変わりました: 「Starter $49 per month」 → 「Starter $59 per month」" in digest
    )
    assert "Gemini で作成できなかったため（4 attempts failed, last: HTTP 500 INTERNAL）" in digest
    assert json.loads(read("digest.json"))["calls"] == 4
    assert [json.loads(line)["status"] for line in read("changes.jsonl").splitlines()] == [
        "unchanged", "new", "changed", "removed",
    ]  # fmt: skip
    assert '<section class="digest" lang="ja"' in read("report.html")
    head = s3.head_object(Bucket=bucket, Key=f"{prefix}digest.md")
    assert head["ContentType"] == "text/markdown; charset=utf-8"  # readable where it is opened


def test_the_same_digest_is_paid_for_once_however_often_the_report_is_written(
    s3: S3Client, bucket: str, gemini: GeminiServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    _, prompt_id = _two_runs(s3, bucket)
    gemini.reset(script=["reply:" + json.dumps(ANSWER)], default="500")
    run_uri = f"s3://{bucket}/raw/competitors/{RUNS[1]}/"
    for out in (tmp_path / "first", tmp_path / "again"):
        done = run_report(moto_server, run_uri, "--prompt", prompt_id, "--out", out)
        assert done.returncode == 0, done.stderr
    assert gemini.calls == 1
    first, again = (json.loads((tmp_path / d / "digest.json").read_text()) for d in
                    ("first", "again"))  # fmt: skip
    assert first["reused_from"] is None
    assert first["usage"]["input_tokens"] > 0
    assert again["reused_from"].startswith(
        f"s3://{bucket}/reports/competitors/{RUNS[1]}/_digests/"
    )
    assert (again["usage"], again["calls"]) == ({"input_tokens": 0, "output_tokens": 0}, 0)
    assert again["points"] == first["points"]
    assert (tmp_path / "again" / "digest.md").read_text() == (
        tmp_path / "first" / "digest.md"
    ).read_text()


def test_an_answer_that_was_unusable_twice_is_not_asked_for_again_by_the_next_report(
    s3: S3Client, bucket: str, gemini: GeminiServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    _, prompt_id = _two_runs(s3, bucket)
    gemini.reset(default="plain_text")
    run_uri = f"s3://{bucket}/raw/competitors/{RUNS[1]}/"
    for out in (tmp_path / "first", tmp_path / "again"):
        done = run_report(moto_server, run_uri, "--prompt", prompt_id, "--out", out)
        assert done.returncode == 0, done.stderr
    assert gemini.calls == 2  # the first report asked twice; the second asked nobody
    first, again = (json.loads((tmp_path / d / "digest.json").read_text()) for d in
                    ("first", "again"))  # fmt: skip
    assert first["writer"] == again["writer"] == "deterministic"
    assert first["fallback"] == again["fallback"]
    assert first["fallback"].startswith("unusable answer: not JSON")
    assert (first["calls"], first["reused_from"]) == (2, None)
    assert again["calls"] == 0
    assert again["reused_from"].startswith(
        f"s3://{bucket}/reports/competitors/{RUNS[1]}/_digests/"
    )
    assert (tmp_path / "again" / "digest.md").read_text() == (
        tmp_path / "first" / "digest.md"
    ).read_text()
