"""The front door as AWS runs it: ``lambda_url.lambda_handler`` given function URL events, with
S3, Step Functions and Secrets Manager served by the moto server. It starts the crawl state
machine with the run's list and arguments and never crawls; keys are digests in a secret; in
IAM mode the principal the function URL authenticated is trusted."""

from __future__ import annotations

import base64
import copy
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from analyzer_lambda.frontdoor import lambda_url
from analyzer_lambda.frontdoor.auth import hash_key
from tests.conftest import load_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

KEY = "rs_test-key"  # the sample event's bearer key


@pytest.fixture
def sfn(moto_server: MotoServer) -> SFNClient:
    return boto3.client("stepfunctions", endpoint_url=moto_server.endpoint)


@pytest.fixture
def state_machine(sfn: SFNClient, bucket: str) -> str:
    created = sfn.create_state_machine(
        name=f"{bucket}-crawl",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/crawl-run",
    )
    return created["stateMachineArn"]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, bucket: str, state_machine: str) -> None:
    monkeypatch.setattr(lambda_url, "_front", None)  # a cold start per test
    monkeypatch.setenv("CRAWL_STATE_MACHINE_ARN", state_machine)
    monkeypatch.setenv("RIVALSCOPE_API_KEY_HASHES", hash_key(KEY))
    for name in ("RIVALSCOPE_API_AUTH", "RIVALSCOPE_API_KEYS_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)


def _event(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event("function_url_post_runs.json"))
    for name, value in changes.items():
        if name == "body":
            event["body"] = base64.b64encode(json.dumps(value).encode()).decode()
        elif value is None:
            event["headers"].pop(name, None)
        else:
            event["headers"][name] = value
    return event


def _get(path: str, **headers: str) -> dict[str, Any]:
    event = _event(**headers)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = "GET"
    event["body"], event["isBase64Encoded"] = None, False
    return event


@pytest.mark.usefixtures("environment")
def test_a_request_starts_one_execution_of_the_crawl_state_machine(
    sfn: SFNClient, s3: S3Client, bucket: str, state_machine: str
) -> None:
    answer = lambda_url.lambda_handler(_event(), None)
    assert answer["statusCode"] == 202
    assert answer["isBase64Encoded"] is False
    body = json.loads(answer["body"])
    run = body["run"]
    host = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"
    assert body["status_url"] == f"https://{host}/runs/{run}"
    [execution] = sfn.list_executions(stateMachineArn=state_machine)["executions"]
    assert execution["name"] == f"api-{run}"  # one execution per run, whatever retries
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    prompt = body["prompt"]["name"]
    assert started == {
        "list_key": f"config/runs/{run}.urls.txt",
        "run": run,
        "extra_arguments": ["-a", f"prompt={prompt}", "-a", "max_pages=3"],
    }
    listed = s3.get_object(Bucket=bucket, Key=started["list_key"])["Body"].read().decode()
    assert listed == "https://93.184.215.14/pricing\n"
    status = lambda_url.lambda_handler(_get(f"/runs/{run}"), None)
    assert status["statusCode"] == 200
    assert json.loads(status["body"])["status"] == "crawling"


@pytest.mark.usefixtures("environment")
def test_without_the_right_key_nothing_starts(sfn: SFNClient, state_machine: str) -> None:
    for headers in ({"authorization": None}, {"authorization": "Bearer rs_wrong"}):
        answer = lambda_url.lambda_handler(_event(**headers), None)
        assert answer["statusCode"] == 401
        assert json.loads(answer["body"])["error"]["code"] in ("unauthenticated", "bad_api_key")
    assert sfn.list_executions(stateMachineArn=state_machine)["executions"] == []


@pytest.mark.usefixtures("environment")
def test_a_private_address_is_refused_before_anything_starts(
    sfn: SFNClient, state_machine: str
) -> None:
    body = {"urls": ["http://169.254.169.254/latest/meta-data/"], "prompt": "What is here?"}
    answer = lambda_url.lambda_handler(_event(body=body), None)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["code"] == "blocked_address"
    assert sfn.list_executions(stateMachineArn=state_machine)["executions"] == []


@pytest.mark.usefixtures("environment")
def test_key_digests_come_from_the_secret(
    monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer
) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint)
    other = "rs_rotated-in"
    arn = secrets.create_secret(
        Name=f"front-door-keys-{id(secrets)}",
        SecretString=json.dumps({"sha256": [hash_key(other)]}),
    )["ARN"]
    monkeypatch.setenv("RIVALSCOPE_API_KEYS_SECRET_ARN", arn)
    monkeypatch.delenv("RIVALSCOPE_API_KEY_HASHES")
    assert lambda_url.lambda_handler(_event(), None)["statusCode"] == 401  # KEY is not in it
    accepted = lambda_url.lambda_handler(_event(authorization=f"Bearer {other}"), None)
    assert accepted["statusCode"] == 202


@pytest.mark.usefixtures("environment")
def test_iam_mode_trusts_the_function_urls_principal(
    monkeypatch: pytest.MonkeyPatch, sfn: SFNClient, state_machine: str
) -> None:
    monkeypatch.setenv("RIVALSCOPE_API_AUTH", "iam")
    unsigned = lambda_url.lambda_handler(_event(authorization=None), None)
    assert unsigned["statusCode"] == 401
    event = _event(authorization=None)
    event["requestContext"]["authorizer"] = {
        "iam": {
            "accessKey": "AKIAEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AIDAEXAMPLE",
            "userArn": "arn:aws:iam::123456789012:user/ana",
            "userId": "AIDAEXAMPLE",
        }
    }
    assert lambda_url.lambda_handler(event, None)["statusCode"] == 202
    assert len(sfn.list_executions(stateMachineArn=state_machine)["executions"]) == 1
