"""The front door's request core against a real S3 (moto server): what ``POST /runs`` stores
and starts, every refusal a caller can meet, and ``GET /runs/{run}`` as the run moves on."""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from rivalscope_core.keys import ChunkRef, RunRef, analysis_key, marker_key, report_prefix
from rivalscope_core.markers import ShardMarker
from rivalscope_core.records import ErrorInfo, ResultRecord
from tests.integration.frontdoor.conftest import KEY, make_front

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.frontdoor.conftest import Client

pytestmark = pytest.mark.integration

PROMPT = "What plans do they sell, at what prices?"
BODY = {"urls": ["https://a.example/pricing", "https://b.example/"], "prompt": PROMPT}


def _text(s3: S3Client, bucket: str, key: str) -> str:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_a_run_request_stores_its_prompt_and_url_list_and_starts_the_run(
    client: Client, s3: S3Client, bucket: str
) -> None:
    response = client.call("POST", "/runs", BODY)
    assert response.status == 202
    answer = client.json(response)
    run = answer["run"]
    assert run == "2026-12-02T10-00-00"
    assert answer["status_url"] == f"https://api.test/runs/{run}"
    assert response.headers["location"] == answer["status_url"]
    [launch] = client.launcher.launches
    assert (launch.run, launch.max_pages, launch.list_key) == (
        run, 1, f"config/runs/{run}.urls.txt",
    )  # fmt: skip
    assert _text(s3, bucket, launch.list_key).split() == BODY["urls"]
    # the ad-hoc prompt is a prompt file like any other, named by its content
    name = answer["prompt"]["name"]
    assert launch.prompt == name
    assert name.startswith("adhoc-")
    assert _text(s3, bucket, f"prompts/{name}.md") == PROMPT + "\n"
    assert launch.crawl_arguments()[:4] == ["-a", f"prompt={name}", "-a", "max_pages=1"]
    record = json.loads(_text(s3, bucket, f"config/runs/{run}.request.json"))
    assert record["execution_arn"] == f"arn:test:{run}"
    assert record["caller"].startswith("key:")
    assert KEY not in json.dumps(record)


def test_the_same_prompt_text_is_the_same_prompt_and_a_second_in_the_same_second_a_new_run(
    client: Client,
) -> None:
    first = client.json(client.call("POST", "/runs", BODY))
    second = client.json(client.call("POST", "/runs", BODY))
    assert first["prompt"] == second["prompt"]  # same name and id: results are found again
    # the clock says the same second: the run id is claimed, the next request takes the next
    assert (first["run"], second["run"]) == ("2026-12-02T10-00-00", "2026-12-02T10-00-01")
    other = client.json(client.call("POST", "/runs", {**BODY, "prompt": PROMPT + " Briefly."}))
    assert other["prompt"]["name"] != first["prompt"]["name"]


def test_a_stored_prompt_is_used_by_name(client: Client, s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="prompts/pricing.md", Body=b"---\nname: pricing\n---\nAsk.")
    answer = client.json(client.call("POST", "/runs", {**BODY, "prompt": "pricing"}))
    assert answer["prompt"]["name"] == "pricing"
    assert answer["prompt"]["prompt_id"].startswith("pricing-")
    missing = client.call("POST", "/runs", {**BODY, "prompt": "pricng"})
    assert (missing.status, client.json(missing)["error"]["code"]) == (400, "unknown_prompt")


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [(None, 401, "unauthenticated"), ("rs_wrong", 401, "bad_api_key"), (KEY, 202, None)],
)
def test_only_a_right_key_starts_a_run(
    client: Client, key: str | None, status: int, code: str | None
) -> None:
    response = client.call("POST", "/runs", BODY, key=key)
    assert response.status == status
    if code:
        assert client.json(response)["error"]["code"] == code
        assert "www-authenticate" in response.headers
        assert not client.launcher.launches
    for path in ("/runs", "/runs/2026-12-02T10-00-00"):  # reading needs the key too
        if key != KEY:
            assert client.call("GET", path, key=key).status == 401


def test_validation_errors_start_nothing_and_store_nothing(
    client: Client, s3: S3Client, bucket: str
) -> None:
    response = client.call("POST", "/runs", {**BODY, "max_pages": 500})
    assert response.status == 400
    error = client.json(response)["error"]
    assert error["code"] == "max_pages_out_of_range"
    assert error["maximum"] == 20
    assert "pages per site" in error["message"]
    assert response.headers["content-type"].startswith("application/json")
    assert not client.launcher.launches
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_starting_runs_is_throttled_per_key_with_retry_after(s3: S3Client, bucket: str) -> None:
    client = make_front(bucket, burst=2, rate_per_minute=2)
    assert [client.call("POST", "/runs", BODY).status for _ in range(2)] == [202, 202]
    refused = client.call("POST", "/runs", BODY)
    assert refused.status == 429
    # the next token is due 30 s after the burst was spent, less the time the two runs took
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= 30
    assert client.json(refused)["error"]["retry_after"] == retry_after
    assert len(client.launcher.launches) == 2
    # a wrong key is refused before it can spend anyone's tokens
    assert client.call("POST", "/runs", BODY, key="rs_other").status == 401
    assert client.call("GET", "/runs").status == 200  # reading has its own, larger budget


def test_a_run_that_cannot_start_is_a_502_and_shows_failed(client: Client) -> None:
    client.launcher.refuse = "ExecutionLimitExceeded: too many executions"
    response = client.call("POST", "/runs", BODY)
    assert response.status == 502
    error = client.json(response)["error"]
    assert error["code"] == "launch_failed"
    status = client.json(client.call("GET", f"/runs/{error['run']}"))
    assert status["status"] == "failed"
    assert "ExecutionLimitExceeded" in status["error"]


def test_unknown_runs_and_endpoints_are_404_and_wrong_methods_405(client: Client) -> None:
    missing = client.call("GET", "/runs/2026-01-01T00-00-00")
    assert (missing.status, client.json(missing)["error"]["code"]) == (404, "no_such_run")
    assert client.call("GET", "/nothing").status == 404
    wrong = client.call("DELETE", "/runs")
    assert (wrong.status, wrong.headers["allow"]) == (405, "GET, POST")
    slack = client.call("POST", "/slack/commands", key=None)
    assert (slack.status, client.json(slack)["error"]["code"]) == (404, "slack_not_configured")
    assert client.call("GET", "/", key=None).status == 404  # the page is make serve's


def _result(chunk: ChunkRef, line: int, prompt_id: str, error: ErrorInfo | None) -> ResultRecord:
    return ResultRecord(
        url=f"https://a.example/{line}", final_url=f"https://a.example/{line}", crawled_at="",
        chunk=chunk.uri, line=line, prompt_id=prompt_id, model="extract-v1", analyzer="extract",
        analysis=None if error else {"summary": f"page {line}"}, error=error,
    )  # fmt: skip


def test_get_follows_the_run_from_crawling_to_done(
    client: Client, s3: S3Client, bucket: str
) -> None:
    answer = client.json(client.call("POST", "/runs", BODY))
    run, prompt_id = answer["run"], answer["prompt"]["prompt_id"]
    ref = RunRef(bucket, "competitors", run)

    def status() -> dict[str, object]:
        response = client.call("GET", f"/runs/{run}")
        assert response.status == 200
        assert response.headers["cache-control"] == "no-store"
        return dict(client.json(response))

    assert status()["status"] == "crawling"
    chunk = ChunkRef(bucket, f"{ref.raw_prefix}items.0000000.jl.gz")
    s3.put_object(Bucket=bucket, Key=chunk.key, Body=b"")
    marker = ShardMarker(
        run=run, spider="competitors", shard_index=0, shard_count=1, chunks=[chunk.key],
        pages=2, errors=1, started_at="", ended_at="2026-12-02T10:01:00+00:00", exit_code=1,
        cpu_seconds=3.0, peak_memory_bytes=1, prompt=answer["prompt"]["name"],
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key=marker_key(ref, 0, 1), Body=marker.to_json())
    now = status()
    assert (now["status"], now["progress"]) == ("analysing", {
        "shards": 1, "shards_done": 1, "chunks_stored": 1, "pages": 2, "pages_analysed": 0,
    })  # fmt: skip
    for line, error in ((1, None), (2, ErrorInfo("timeout", "the page took over 30 s"))):
        result = _result(chunk, line, prompt_id, error)
        key = analysis_key(chunk, line, prompt_id, "extract-v1")
        s3.put_object(Bucket=bucket, Key=key, Body=result.to_json().encode())
    now = status()
    assert now["status"] == "analysing"  # every page has a result; the run-complete step next
    pages = now["pages"]
    assert isinstance(pages, list)
    assert [(p["url"], p["status"]) for p in pages] == [
        ("https://a.example/1", "done"), ("https://a.example/2", "failed"),
    ]  # fmt: skip
    assert pages[0]["analysis"] == {"summary": "page 1"}
    assert pages[1]["error"] == {"type": "timeout", "message": "the page took over 30 s"}
    assert pages[0]["screenshot_url"] is None  # the report's files come with the report

    prefix = report_prefix(ref, prompt_id)
    s3.put_object(Bucket=bucket, Key=f"{prefix}report.html", Body=b"<html>report</html>")
    shot = f"{prefix}screenshots/items.0000000-1.jpg"
    s3.put_object(Bucket=bucket, Key=shot, Body=b"\xff\xd8jpeg", ContentType="image/jpeg")
    s3.put_object(Bucket=bucket, Key=f"{prefix}run.json", Body=b'{"status": "done"}')
    done = status()
    assert done["status"] == "done"
    report_url = str(done["report_url"])
    assert "X-Amz-Signature=" in report_url
    assert "X-Amz-Expires=3600" in report_url
    with urllib.request.urlopen(report_url) as reply:  # the presigned URL works as is
        assert reply.read() == b"<html>report</html>"
    done_pages = done["pages"]
    assert isinstance(done_pages, list)
    with urllib.request.urlopen(done_pages[0]["screenshot_url"]) as reply:
        assert reply.read() == b"\xff\xd8jpeg"
    listed = client.json(client.call("GET", "/runs"))["runs"]
    assert [(r["run"], r["status"]) for r in listed] == [(run, "done")]
    assert "pages" not in listed[0]  # the list is light: one look per run, no results read


def test_presigned_urls_live_as_long_as_configured(s3: S3Client, bucket: str) -> None:
    client = make_front(bucket, url_expires=600)
    run = client.json(client.call("POST", "/runs", BODY))["run"]
    prompt_id = client.json(client.call("GET", f"/runs/{run}"))["prompt"]["prompt_id"]
    prefix = report_prefix(RunRef(bucket, "competitors", run), prompt_id)
    for name in ("report.html", "run.json"):
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=b'{"status": "done"}')
    answer = client.json(client.call("GET", f"/runs/{run}"))
    assert "X-Amz-Expires=600&" in answer["report_url"]
    assert answer["urls_expire_in"] == 600


def test_requests_in_one_second_from_two_front_doors_get_distinct_runs(
    s3: S3Client, bucket: str
) -> None:
    at = datetime(2026, 12, 2, 11, 0, 0, tzinfo=UTC)
    one, two = make_front(bucket, clock=lambda: at), make_front(bucket, clock=lambda: at)
    runs = {one.json(c.call("POST", "/runs", BODY))["run"] for c in (one, two, one)}
    assert runs == {"2026-12-02T11-00-00", "2026-12-02T11-00-01", "2026-12-02T11-00-02"}


def test_an_unreachable_s3_is_a_503_that_says_so_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, bucket: str
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    client = make_front(bucket)
    response = client.call("POST", "/runs", BODY)
    assert response.status == 503
    error = client.json(response)["error"]
    assert error["code"] == "storage_unavailable"
    assert "try again" in error["message"]
    assert not client.launcher.launches


def test_other_front_ends_start_runs_with_the_same_checks(client: Client) -> None:
    from analyzer_lambda.frontdoor.auth import Caller
    from analyzer_lambda.frontdoor.http import ApiError
    from analyzer_lambda.prompts.parser import default_prompt

    slack = Caller("slack:T123/U456", "slack")
    started = client.front.start_run(
        ["https://a.example/pricing"], None, slack, base_url="https://api.test/"
    )
    # no prompt: the bundled one, stored like an ad-hoc prompt under the same prompt id
    assert started["prompt"]["prompt_id"] == default_prompt().prompt_id
    assert started["status_url"] == f"https://api.test/runs/{started['run']}"
    assert client.launcher.launches[-1].prompt == started["prompt"]["name"]
    with pytest.raises(ApiError, match="private address"):
        client.front.start_run(["http://10.0.0.1/"], "what is this?", slack)


def test_a_run_started_elsewhere_is_described_from_s3_alone(
    client: Client, s3: S3Client, bucket: str
) -> None:
    run = "2026-11-30T03-00-00"  # the scheduled crawl's
    ref = RunRef(bucket, "competitors", run)
    s3.put_object(Bucket=bucket, Key=f"{ref.raw_prefix}items.0000000.jl.gz", Body=b"")
    crawling = client.json(client.call("GET", f"/runs/{run}"))
    assert (crawling["status"], crawling["progress"]["chunks_stored"]) == ("crawling", 1)
    prefix = report_prefix(ref, "overview-1234abcd")
    s3.put_object(Bucket=bucket, Key=f"{prefix}run.json", Body=b'{"status": "done"}')
    s3.put_object(Bucket=bucket, Key=f"{prefix}report.html", Body=b"<html></html>")
    done = client.json(client.call("GET", f"/runs/{run}"))
    assert done["status"] == "done"
    assert done["prompt"] == {"prompt_id": "overview-1234abcd"}
    assert "/report.html?" in done["report_url"]
