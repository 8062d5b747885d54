"""scripts/run-crawl: the RunTask requests it makes for one-off and sharded cloud crawls, read
from its --dry-run output (the calls against a real endpoint are in tests/integration/image/)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from tests.unit.infra.cfn import load_template
from tests.unit.infra.dockerfile import ROOT

if TYPE_CHECKING:
    from pathlib import Path

RUN_CRAWL = ROOT / "scripts" / "run-crawl"
DEPLOYMENT = [
    "--cluster", "arn:aws:ecs:eu-west-1:123456789012:cluster/rivalscope",
    "--task-definition", "arn:aws:ecs:eu-west-1:123456789012:task-definition/rivalscope-crawler:3",
    "--subnets", "subnet-a,subnet-b",
    "--security-groups", "sg-1",
    "--bucket", "rivalscope-123456789012-eu-west-1",
    "--log-group", "/rivalscope/rivalscope/crawler",
]  # fmt: skip


def _dry_run(*args: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    result = subprocess.run(
        [sys.executable, str(RUN_CRAWL), "--dry-run", *DEPLOYMENT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    requests = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result, requests


def _command(request: dict[str, Any]) -> list[str]:
    [override] = request["overrides"]["containerOverrides"]
    assert override["name"] == "crawler"
    command: list[str] = override["command"]
    return command


def test_one_off_crawl_of_given_urls_is_one_fargate_task() -> None:
    result, requests = _dry_run("--urls", "https://a.example/", "https://b.example/")
    assert result.returncode == 0, result.stderr
    [request] = requests
    assert request["launchType"] == "FARGATE"
    assert request["taskDefinition"].endswith("rivalscope-crawler:3")
    assert request["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-a", "subnet-b"],
        "securityGroups": ["sg-1"],
        "assignPublicIp": "ENABLED",
    }
    assert _command(request) == ["-a", "urls=https://a.example/,https://b.example/"]


def test_shards_start_n_tasks_each_with_its_share() -> None:
    result, requests = _dry_run("--shards", "3", "--prompt", "pricing", "-s", "LOG_LEVEL=INFO")
    assert result.returncode == 0, result.stderr
    # No URLs given: each task crawls its shard of the scheduled watch list (WATCHLIST).
    assert [_command(r) for r in requests] == [
        ["-a", "prompt=pricing", "-a", f"shard={i}/3", "-s", "LOG_LEVEL=INFO"] for i in range(3)
    ]


def test_a_local_url_list_is_uploaded_under_config_runs(tmp_path: Path) -> None:
    urls = tmp_path / "competitors.txt"
    urls.write_text("https://a.example/\n")
    result, [request] = _dry_run("--urls-file", str(urls))
    assert result.returncode == 0, result.stderr
    [_, value] = _command(request)
    prefix = "urls_file=s3://rivalscope-123456789012-eu-west-1/config/runs/"
    assert value.startswith(prefix)
    assert value.endswith("-competitors.txt")
    assert f"would upload {urls} to {value.removeprefix('urls_file=')}" in result.stdout


def test_a_url_list_the_task_cannot_read_is_refused() -> None:
    result, requests = _dry_run("--urls-file", "s3://someone-else/urls.txt")
    assert result.returncode == 2
    assert "config/" in result.stderr
    assert requests == []


def test_bad_shard_counts_and_huge_overrides_are_usage_errors() -> None:
    result, _ = _dry_run("--shards", "0")
    assert result.returncode == 2
    assert "--shards" in result.stderr
    many = [f"https://site{i}.example/some/long/path/to/a/page" for i in range(400)]
    result, requests = _dry_run("--urls", *many)
    assert result.returncode == 2
    assert "--urls-file" in result.stderr
    assert requests == []


def test_container_name_and_log_prefix_match_the_template() -> None:
    [container] = load_template()["Resources"]["CrawlerTaskDefinition"]["Properties"][
        "ContainerDefinitions"
    ]
    assert container["Name"] == "crawler"
    assert container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "crawl"
    source = RUN_CRAWL.read_text()
    assert 'CONTAINER = "crawler"' in source
    assert 'LOG_STREAM_PREFIX = "crawl"' in source


def test_a_local_watch_list_is_uploaded_and_every_shard_reads_it(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text("competitors:\n  - name: Acme\n    urls: [https://a.example/]\n")
    result, requests = _dry_run("--watchlist", str(watchlist), "--shards", "2")
    assert result.returncode == 0, result.stderr
    commands = [_command(r) for r in requests]
    [value] = {c[1] for c in commands}
    assert value.startswith("watchlist=s3://rivalscope-123456789012-eu-west-1/config/runs/")
    assert value.endswith("-watchlist.yaml")
    assert commands == [["-a", value, "-a", f"shard={i}/2"] for i in range(2)]
    assert f"would upload {watchlist} to {value.removeprefix('watchlist=')}" in result.stdout


def test_a_watch_list_the_task_cannot_read_is_refused() -> None:
    result, requests = _dry_run("--watchlist", "s3://someone-else/watchlist.yaml")
    assert result.returncode == 2
    assert "config/" in result.stderr
    assert requests == []


def test_a_bad_local_watch_list_is_refused_before_any_upload(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text("competitors:\n  - name: Northwind\n    urls: []\n")
    result, requests = _dry_run("--watchlist", str(watchlist))
    assert result.returncode == 2
    assert f'watchlist {watchlist}: competitors[0] "Northwind": urls: must not be empty' in (
        result.stderr
    )
    assert requests == []
    assert "would upload" not in result.stdout
