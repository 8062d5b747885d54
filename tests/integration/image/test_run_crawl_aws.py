"""scripts/run-crawl against an AWS API endpoint (moto server): it finds the deployment in the
stack's outputs, uploads a local URL list where the crawl task may read it, and reports each
task it could not start (exit 1) instead of failing with a traceback.

moto 5.2.5 cannot start a task with an awsvpc network configuration (its RunTask raises
``AttributeError: 'NetworkInterface' object has no attribute 'private_dns_name'``), so the
successful RunTask is covered only by the --dry-run tests in tests/unit/infra/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest

from tests.unit.infra.dockerfile import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

RUN_CRAWL = ROOT / "scripts" / "run-crawl"


def _stack_with_outputs(endpoint: str, outputs: dict[str, str]) -> str:
    """A stack whose outputs are what infra/template.yaml outputs (moto cannot create the real
    template's Fargate and Scheduler resources)."""
    name = f"rivalscope-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint, region_name="us-east-1")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


def test_run_crawl_reads_the_stack_uploads_the_list_and_reports_unstarted_tasks(
    moto_server: MotoServer, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    endpoint = moto_server.endpoint
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"crawl-{vpc}", Description="d", VpcId=vpc)
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")
    cluster = ecs.create_cluster(clusterName=f"c-{vpc}")["cluster"]["clusterArn"]
    stack = _stack_with_outputs(
        endpoint,
        {
            "ClusterArn": cluster,
            "CrawlerTaskDefinitionArn": "rivalscope-crawler",
            "CrawlerSubnetIds": subnet,
            "CrawlerSecurityGroupId": group["GroupId"],
            "CrawlerAssignPublicIp": "ENABLED",
            "PagesBucketName": bucket,
            "CrawlerLogGroupName": "/rivalscope/test/crawler",
        },
    )
    urls = tmp_path / "competitors.txt"
    urls.write_text("https://a.example/\nhttps://b.example/\n")

    command = [sys.executable, str(RUN_CRAWL), "--stack", stack, "--urls-file", str(urls)]
    command += ["--via", "task"]
    result = subprocess.run(
        [*command, "--shards", "2", "--region", "us-east-1"],
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_MAX_ATTEMPTS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    [uploaded] = s3.list_objects_v2(Bucket=bucket, Prefix="config/runs/")["Contents"]
    assert uploaded["Key"].endswith("-competitors.txt")
    body = s3.get_object(Bucket=bucket, Key=uploaded["Key"])["Body"].read()
    assert body == urls.read_bytes()
    assert f"uploaded {urls} to s3://{bucket}/{uploaded['Key']}" in result.stdout
    # No task could start here (see the module docstring): each shard says so, exit 1.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "shard 0/2: not started" in result.stderr
    assert "shard 1/2: not started" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_crawl_starts_the_crawl_state_machine_and_prints_its_execution(
    moto_server: MotoServer, s3: S3Client, bucket: str
) -> None:
    endpoint = moto_server.endpoint
    sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1")
    machine = sfn.create_state_machine(
        name=f"crawl-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/crawl-run",
    )["stateMachineArn"]
    stack = _stack_with_outputs(
        endpoint, {"CrawlStateMachineArn": machine, "PagesBucketName": bucket}
    )
    result = subprocess.run(
        [
            sys.executable, str(RUN_CRAWL), "--stack", stack, "--region", "us-east-1",
            "--urls", "https://a.com/", "https://b.co.uk/", "--shards", "2",
        ],
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_MAX_ATTEMPTS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    arn = execution["executionArn"]
    assert f"started {arn}" in result.stdout
    assert f"#/v2/executions/details/{arn}" in result.stdout  # the console link
    given = json.loads(sfn.describe_execution(executionArn=arn)["input"])
    assert given["max_shards"] == 2
    listed = s3.get_object(Bucket=bucket, Key=given["list_key"])["Body"].read()
    assert listed.decode().split() == ["https://a.com/", "https://b.co.uk/"]


def test_run_crawl_without_a_deployment_is_a_usage_error(moto_server: MotoServer) -> None:
    result = subprocess.run(
        [sys.executable, str(RUN_CRAWL), "--stack", "no-such-stack", "--region", "us-east-1"],
        env={**os.environ, "AWS_ENDPOINT_URL": moto_server.endpoint, "AWS_MAX_ATTEMPTS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no-such-stack" in result.stderr
    assert "--stack" in result.stderr
