"""scripts/deploy, run with DRY_RUN=1: the Docker and AWS commands it would run (there is no
Docker engine or AWS account here), parsed back into argument lists."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any

import pytest

from tests.unit.infra.cfn import load_template
from tests.unit.infra.dockerfile import ROOT

DEPLOY = ROOT / "scripts" / "deploy"
FAKE_KEY = "AIza-not-a-real-key-but-secret-anyway"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def _deploy(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GEMINI_", "SLACK_"))}
    return subprocess.run(
        [str(DEPLOY)],
        env={**base, "DRY_RUN": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def commands() -> list[list[str]]:
    result = _deploy(
        REGION="eu-west-1",
        VPC_ID="vpc-1",
        SUBNET_IDS="subnet-a,subnet-b",
        SCHEDULE="cron(0 3 ? * MON *)",
        PARAMS="GeminiModel=gemini-2.5-flash-lite\nAnalyzerMaxConcurrency=3",
        GEMINI_API_KEY=FAKE_KEY,
    )
    assert result.returncode == 0, result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr
    lines = [line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")]
    return [shlex.split(line, comments=True) for line in lines]


def _starting(commands: list[list[str]], *prefix: str) -> list[list[str]]:
    return [c for c in commands if c[: len(prefix)] == list(prefix)]


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_both_images_are_built_for_lambda_and_fargate_and_pushed(
    commands: list[list[str]],
) -> None:
    builds = _starting(commands, "docker", "buildx", "build")
    assert sorted(_option(b, "-f") for b in builds) == [
        "Dockerfile.analyzer",
        "Dockerfile.crawler",
    ]
    for build in builds:
        assert _option(build, "--platform") == "linux/amd64"
        assert "--provenance=false" in build  # Lambda rejects the attestation manifest
        assert "--push" in build
        assert build[-1] == "."
    tags = {_option(b, "-f"): _option(b, "-t") for b in builds}
    assert tags["Dockerfile.crawler"].startswith(f"{REGISTRY}/rivalscope-crawler:")
    assert tags["Dockerfile.analyzer"].startswith(f"{REGISTRY}/rivalscope-analyzer:")
    assert len({t.rsplit(":", 1)[1] for t in tags.values()}) == 1


def test_the_stack_is_deployed_with_every_required_parameter(
    commands: list[list[str]],
) -> None:
    [deploy] = _starting(commands, "aws", "cloudformation", "deploy")
    assert _option(deploy, "--template-file") == "infra/template.yaml"
    assert "CAPABILITY_IAM" in deploy
    given: dict[str, Any] = dict(
        arg.split("=", 1) for arg in deploy[deploy.index("--parameter-overrides") + 1 :]
    )
    parameters = load_template()["Parameters"]
    assert set(given) <= set(parameters), set(given) - set(parameters)
    required = {name for name, p in parameters.items() if "Default" not in p}
    assert required <= set(given), required - set(given)
    assert given["SubnetIds"] == "subnet-a,subnet-b"
    assert given["CrawlScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert given["AnalyzerMaxConcurrency"] == "3"
    [build] = _starting(commands, "docker", "buildx", "build")[:1]
    assert _option(build, "-t").endswith(":" + given["ImageTag"])


def test_the_gemini_key_goes_to_secrets_manager_on_stdin(commands: list[list[str]]) -> None:
    [put] = _starting(commands, "aws", "secretsmanager", "put-secret-value")
    assert _option(put, "--secret-string") == "file:///dev/stdin"


def test_the_slack_secrets_go_each_to_its_own_secret_on_stdin() -> None:
    signing, token = "8f742231b10e8888abcd99yyyzzz85a5", "xoxb-1-not-a-real-token"
    result = _deploy(
        REGION="eu-west-1",
        VPC_ID="vpc-1",
        SUBNET_IDS="subnet-a",
        SLACK_SIGNING_SECRET=signing,
        SLACK_BOT_TOKEN=token,
    )
    assert result.returncode == 0, result.stderr
    assert signing not in result.stdout + result.stderr
    assert token not in result.stdout + result.stderr
    lines = [line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")]
    puts = _starting(
        [shlex.split(line, comments=True) for line in lines],
        "aws", "secretsmanager", "put-secret-value",
    )  # fmt: skip
    assert [_option(p, "--secret-id") for p in puts] == [
        "<SlackSigningSecretArn>",
        "<SlackBotTokenSecretArn>",
    ]
    assert {_option(p, "--secret-string") for p in puts} == {"file:///dev/stdin"}
    outputs = load_template()["Outputs"]
    assert {"SlackSigningSecretArn", "SlackBotTokenSecretArn"} <= set(outputs)


def test_missing_network_settings_are_usage_errors() -> None:
    result = _deploy(REGION="eu-west-1", SUBNET_IDS="subnet-a")
    assert result.returncode == 2
    assert "VPC_ID" in result.stderr
    result = _deploy(REGION="eu-west-1", VPC_ID="vpc-1")
    assert result.returncode == 2
    assert "SUBNET_IDS" in result.stderr


@pytest.mark.parametrize("variable", ["WATCHLIST", "URLS_FILE"])
def test_a_local_watch_list_is_uploaded_to_the_scheduled_location(
    variable: str, tmp_path: Any
) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text("competitors:\n  - name: Acme\n    urls: [https://a.example/]\n")
    result = _deploy(REGION="eu-west-1", VPC_ID="vpc-1", SUBNET_IDS="subnet-a",
                     **{variable: str(watchlist)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [shlex.split(x[2:]) for x in result.stdout.splitlines() if x.startswith("+ ")]
    [upload] = [c for c in lines if c[:3] == ["aws", "s3", "cp"]]
    assert upload[-2:] == [str(watchlist), "<WatchListUri>"]
    assert "WatchListUri" in load_template()["Outputs"]
