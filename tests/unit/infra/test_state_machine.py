"""The crawl run's state machine (infra/template.yaml, ``CrawlStateMachine``), checked offline.

What is exercised here without an AWS account: the definition, with its substitutions filled
in as CloudFormation would, passes statelint (an Amazon States Language validator) and
cfn-lint's schema (test_template.py); every JSONata expression that shapes data — the run id,
the planner's payload, each shard's command line, the run-complete step's event, the choices
and failure causes — is evaluated here with jsonata-python against sample inputs, and its
output fed to our own code where it goes next (the planner's arguments, the crawl's arguments
parser, the analyser's event parser). The IAM grants are read from the template.
What is not: Step Functions itself (the Distributed Map's child executions, ``runTask.sync``'s
waiting and the exact error names ECS raises, retry timing), Fargate, and IAM evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonata  # type: ignore[import-untyped]  # no py.typed
import pytest

from analyzer_lambda import events
from crawler.spiders.arguments import CrawlArguments
from tests.unit.infra.cfn import (
    as_list,
    load_template,
    refers_to,
    role_statements,
    state_machine_definition,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

VALUES = {
    "PlannerArn": "arn:aws:lambda:us-east-1:123456789012:function:planner",
    "AnalyzerArn": "arn:aws:lambda:us-east-1:123456789012:function:analyzer",
    "ClusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/crawl",
    "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/crawler:3",
    "SubnetIds": "subnet-1,subnet-2",
    "SecurityGroupId": "sg-1",
    "AssignPublicIp": "ENABLED",
    "MaxShards": "4",
    "MaxConcurrency": "20",
    "DefaultListKey": "config/urls.txt",
    "BucketName": "pages-bucket",
    "Region": "us-east-1",
}
PLAN = {
    "bucket": "pages-bucket",
    "run": "2026-11-23T22-19-03",
    "urls_file": "s3://pages-bucket/config/urls.txt",
    "shard_count": 2,
    "max_concurrency": 20,
    "shards": [{"index": 0, "shard": "0/2", "urls": 3}, {"index": 1, "shard": "1/2", "urls": 2}],
    "extra_arguments": ["-a", "prompt=pricing"],
    "marker_key": "raw/competitors/2026-11-23T22-19-03/_done/1of2.json",
}


@pytest.fixture(scope="module")
def definition(template: dict[str, Any]) -> dict[str, Any]:
    return state_machine_definition(template, "CrawlStateMachine", VALUES)


def _evaluate(expression: str, **states: Any) -> Any:
    """A JSONata field (``{% ... %}``) as Step Functions evaluates it, ``$states`` bound."""
    assert expression.startswith("{%"), expression
    assert expression.endswith("%}"), expression
    return jsonata.Jsonata(expression[2:-2]).evaluate(None, {"states": states})


def _resolve(value: Any, **states: Any) -> Any:
    """Every JSONata string inside a field (Arguments, Output) evaluated, the rest kept."""
    if isinstance(value, str) and value.startswith("{%"):
        return _evaluate(value, **states)
    if isinstance(value, dict):
        return {k: _resolve(v, **states) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, **states) for v in value]
    return value


def _shard_states(definition: Mapping[str, Any]) -> dict[str, Any]:
    return dict(definition["States"]["CrawlShards"]["ItemProcessor"]["States"])


def test_the_definition_passes_statelint(definition: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "crawl.asl.json"
    path.write_text(json.dumps(definition))
    statelint = Path(sys.executable).with_name("statelint")
    result = subprocess.run(
        [str(statelint), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_is_no_rubber_stamp(definition: dict[str, Any], tmp_path: Path) -> None:
    broken = json.loads(json.dumps(definition))
    broken["States"]["CrawlShards"]["Next"] = "Nowhere"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    statelint = Path(sys.executable).with_name("statelint")
    result = subprocess.run(
        [str(statelint), str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "Nowhere" in result.stdout + result.stderr


def test_the_planner_gets_the_list_n_and_a_run_id_from_the_execution_start(
    definition: dict[str, Any],
) -> None:
    from analyzer_lambda.runs.plan import plan_shards

    state = definition["States"]["PlanShards"]
    assert state["Arguments"]["FunctionName"] == VALUES["PlannerArn"]
    context = {"Execution": {"StartTime": "2026-11-23T22:19:03.512Z"}}
    scheduled = _resolve(
        state["Arguments"]["Payload"], input={"list_key": "config/urls.txt"}, context=context
    )
    assert scheduled == {
        "bucket": "pages-bucket",
        "list_key": "config/urls.txt",
        "max_shards": 4,
        "max_concurrency": 20,
        "extra_arguments": [],
        "run": "2026-11-23T22-19-03",  # what -a run= and scrapy-s3pipeline's {time} look like
    }
    given = _resolve(
        state["Arguments"]["Payload"],
        input={
            "list_key": "config/other.txt",
            "max_shards": "2",
            "run": "2026-11-30T08-00-00",
            "extra_arguments": ["-a", "prompt=pricing"],
        },
        context=context,
    )
    assert (given["max_shards"], given["run"]) == (2, "2026-11-30T08-00-00")
    assert given["extra_arguments"] == ["-a", "prompt=pricing"]
    # the payload is what the planner takes
    plan = plan_shards(
        "https://a.com/\nhttps://b.co.uk/\n",
        bucket=scheduled["bucket"],
        key=scheduled["list_key"],
        max_shards=scheduled["max_shards"],
        run=scheduled["run"],
        max_concurrency=scheduled["max_concurrency"],
        extra_arguments=tuple(given["extra_arguments"]),
    ).to_dict()
    assert set(PLAN) == set(plan) - {"run_uri"}
    assert plan["extra_arguments"] == PLAN["extra_arguments"]
    assert _evaluate(state["Output"], result={"Payload": plan}) == plan


def test_a_distributed_map_runs_each_shard_with_bounded_concurrency(
    definition: dict[str, Any], template: dict[str, Any]
) -> None:
    crawl_map = definition["States"]["CrawlShards"]
    assert crawl_map["Type"] == "Map"
    assert crawl_map["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert crawl_map["ItemsPath"] == "$.shards"
    # MaxConcurrency comes from the planner's output, which passes the parameter on
    assert crawl_map["MaxConcurrencyPath"] == "$.max_concurrency"
    assert PLAN["max_concurrency"] == int(VALUES["MaxConcurrency"])
    limit = template["Parameters"]["CrawlMaxConcurrency"]
    assert limit["MaxValue"] <= 100  # Fargate's launch burst
    assert crawl_map["ItemSelector"] == {
        "shard.$": "$$.Map.Item.Value.shard",
        "run.$": "$.run",
        "urls_file.$": "$.urls_file",
        "extra_arguments.$": "$.extra_arguments",
    }
    assert crawl_map["ToleratedFailurePercentage"] == 100
    assert crawl_map["ResultPath"] == "$.crawls"


def test_each_shard_task_gets_the_run_and_its_shard_on_the_command_line(
    definition: dict[str, Any],
) -> None:
    crawl = _shard_states(definition)["Crawl"]
    assert crawl["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    item = {
        "shard": "1/2",
        "run": PLAN["run"],
        "urls_file": PLAN["urls_file"],
        "extra_arguments": PLAN["extra_arguments"],
    }
    arguments = _resolve(crawl["Arguments"], input=item)
    assert arguments["Cluster"] == VALUES["ClusterArn"]
    assert arguments["TaskDefinition"] == VALUES["TaskDefinitionArn"]
    assert arguments["LaunchType"] == "FARGATE"
    network = arguments["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network == {
        "Subnets": ["subnet-1", "subnet-2"],
        "SecurityGroups": ["sg-1"],
        "AssignPublicIp": "ENABLED",
    }
    [override] = arguments["Overrides"]["ContainerOverrides"]
    assert override["Name"] == "crawler"
    command = override["Command"]
    assert command == [
        "-a",
        "watchlist=s3://pages-bucket/config/urls.txt",
        "-a",
        "run=2026-11-23T22-19-03",
        "-a",
        "shard=1/2",
        "-a",
        "prompt=pricing",
    ]
    # docker/crawl passes these to `scrapy crawl competitors`: the spider takes them
    spargs = dict(arg.split("=", 1) for arg in command[1::2])
    parsed = CrawlArguments.parse(spargs)
    assert (parsed.run, parsed.shard, parsed.watchlist) == (PLAN["run"], (1, 2), PLAN["urls_file"])
    assert parsed.prompt == "pricing"


def test_a_task_that_did_not_start_is_retried_with_backoff_and_a_failed_crawl_is_reported(
    definition: dict[str, Any],
) -> None:
    states = _shard_states(definition)
    crawl = states["Crawl"]
    [retry] = crawl["Retry"]
    assert {"ECS.AmazonECSException", "AmazonECS.Unknown"} <= set(retry["ErrorEquals"])
    assert "States.ALL" not in retry["ErrorEquals"]  # a crawl that ran is never run twice
    assert retry["BackoffRate"] > 1
    assert retry["JitterStrategy"] == "FULL"
    [catch] = crawl["Catch"]
    assert (catch["ErrorEquals"], catch["Next"]) == (["States.ALL"], "ShardFailed")
    failed = _evaluate(
        catch["Output"],
        input={"shard": "0/2"},
        errorOutput={"Error": "States.TaskFailed", "Cause": "{...}"},
    )
    assert failed == {"shard": "0/2", "ok": False, "error": "States.TaskFailed", "cause": "{...}"}

    task = {"Containers": [{"ExitCode": 1}], "StoppedReason": "Essential container exited"}
    ended = _evaluate(crawl["Output"], input={"shard": "1/2"}, result={**task, "TaskArn": "t"})
    assert ended["exit_code"] == 1
    [choice] = states["CrawlEnded"]["Choices"]
    assert _evaluate(choice["Condition"], input=ended) is False  # → ShardFailed
    assert _evaluate(choice["Condition"], input={**ended, "exit_code": 0}) is True
    assert _evaluate(states["ShardFailed"]["Output"], input=ended)["ok"] is False
    assert _evaluate(states["ShardDone"]["Output"], input=ended)["ok"] is True


def test_the_run_complete_step_gets_a_marker_event_the_analyser_takes(
    definition: dict[str, Any],
) -> None:
    step = definition["States"]["RunComplete"]
    assert step["Arguments"]["FunctionName"] == VALUES["AnalyzerArn"]
    event = _resolve(step["Arguments"]["Payload"], input=PLAN)
    assert events.event_kind(event) == "s3"
    [marker] = events.markers_of(events.objects_from_s3_notification(event))
    assert (marker.run.bucket, marker.run.time, marker.count) == ("pages-bucket", PLAN["run"], 2)
    # not complete yet: looked at again with backoff for longer than RunCompleteTimeout's max
    [waiting] = [r for r in step["Retry"] if r["ErrorEquals"] == ["RunNotCompleteError"]]
    total, delay = 0.0, float(waiting["IntervalSeconds"])
    for _ in range(waiting["MaxAttempts"]):
        total += min(delay, waiting["MaxDelaySeconds"])
        delay *= waiting["BackoffRate"]
    timeout = load_template()["Parameters"]["RunCompleteTimeout"]
    assert total > timeout["MaxValue"]
    # a report paused with parts left: the next invocation at once, for a long report too
    [paused] = [r for r in step["Retry"] if r["ErrorEquals"] == ["RunReportUnfinishedError"]]
    assert paused["IntervalSeconds"] <= 5
    assert paused["BackoffRate"] == 1.0
    assert paused["MaxAttempts"] >= 100
    assert step["Retry"].index(paused) < step["Retry"].index(waiting)


OK0, OK1, FAILED0 = (
    {"shard": "0/2", "ok": True},
    {"shard": "1/2", "ok": True},
    {"shard": "0/2", "ok": False},
)


@pytest.mark.parametrize(
    ("crawls", "runs", "end"),
    [
        ([OK0, OK1], [{"outcome": "done"}], "Done"),
        ([OK0], [{"outcome": "already_done"}], "Done"),
        ([FAILED0, OK1], [{"outcome": "done"}], "ShardsFailed"),
        ([OK0], [{"outcome": "gave_up"}], "RunIncomplete"),
        # another invocation is still writing the report: not Done until it is
        ([OK0], [{"outcome": "claimed"}], "ReportBeingWritten"),
        ([FAILED0, OK1], [{"outcome": "claimed"}], "ReportBeingWritten"),
    ],
)
def test_the_run_ends_failed_when_a_shard_failed_or_the_run_stayed_incomplete(
    definition: dict[str, Any], crawls: list[dict[str, Any]], runs: list[dict[str, Any]], end: str
) -> None:
    finished = definition["States"]["Finished"]
    state = {**PLAN, "crawls": crawls, "runs": runs}
    matched = [c["Next"] for c in finished["Choices"] if _evaluate(c["Condition"], input=state)]
    assert (matched or [finished["Default"]])[0] == end
    if end == "ShardsFailed":
        cause = _evaluate(definition["States"]["ShardsFailed"]["Cause"], input=state)
        assert cause.startswith(f"run {PLAN['run']}: shard(s) 0/2 failed")


def test_a_report_another_invocation_is_writing_is_looked_at_again_a_bounded_number_of_times(
    definition: dict[str, Any], template: dict[str, Any]
) -> None:
    states = definition["States"]
    check, wait = states["ReportBeingWritten"], states["WaitForReport"]

    def after(state: Mapping[str, Any]) -> str:
        matched = [c["Next"] for c in check["Choices"] if _evaluate(c["Condition"], input=state)]
        return str((matched or [check["Default"]])[0])

    state: dict[str, Any] = {**PLAN, "crawls": [OK0], "runs": [{"outcome": "claimed"}]}
    looks = 0
    while after(state) == "WaitForReport":
        assert wait["Next"] == "RunComplete"
        state = _evaluate(wait["Output"], input=state)
        looks += 1
        assert looks < 1000, "never ends"
    assert after(state) == "RunIncomplete"
    # long enough for a dead holder's claim to expire and be taken over by the next look
    assert looks * wait["Seconds"] > _analyzer_claim_ttl(template)
    cause = _evaluate(states["RunIncomplete"]["Cause"], input=state)
    assert "claimed" in cause


def test_the_state_machine_may_run_only_the_crawl_task_and_pass_only_its_roles(
    template: dict[str, Any],
) -> None:
    statements = role_statements(template, "CrawlStateMachineRole")
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            by_action.setdefault(action, []).append(statement)
    [run] = by_action["ecs:RunTask"]
    assert refers_to(run["Resource"], "CrawlerTaskDefinition")
    assert refers_to(run["Condition"]["ArnEquals"]["ecs:cluster"], "CrawlerCluster")
    [passing] = by_action["iam:PassRole"]
    assert sorted(r["Fn::GetAtt"][0] for r in passing["Resource"]) == [
        "CrawlerExecutionRole",
        "CrawlerTaskRole",
    ]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    [invoke] = by_action["lambda:InvokeFunction"]
    assert sorted(r["Fn::GetAtt"][0] for r in invoke["Resource"]) == [
        "AnalyzerFunction",
        "ShardPlannerFunction",
    ]
    # nothing else may be started, passed or invoked
    assert set(by_action) == {
        "lambda:InvokeFunction",
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "iam:PassRole",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
    }


def test_the_planner_runs_from_the_analyser_image_and_reads_only_url_lists(
    template: dict[str, Any],
) -> None:
    from tests.unit.infra.cfn import s3_grants

    function = template["Resources"]["ShardPlannerFunction"]["Properties"]
    assert function["ImageConfig"]["Command"] == ["analyzer_lambda.runs.plan.lambda_handler"]
    assert refers_to(function["Code"]["ImageUri"], "AnalyzerImageRepository")
    assert s3_grants(template, "ShardPlannerRole", "PagesBucket") == {"s3:GetObject": {"config/*"}}


def test_a_failed_run_alarms_the_alerts_topic(template: dict[str, Any]) -> None:
    [alarm] = [
        a["Properties"]
        for a in template["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
        and a["Properties"]["MetricName"] == "ExecutionsFailed"
    ]
    assert alarm["Namespace"] == "AWS/States"
    [dimension] = alarm["Dimensions"]
    assert dimension["Name"] == "StateMachineArn"
    assert refers_to(dimension["Value"], "CrawlStateMachine")
    assert [refers_to(action, "AlertsTopic") for action in alarm["AlarmActions"]] == [True]


def _retrier(retry: list[dict[str, Any]], error: str) -> dict[str, Any] | None:
    """The retrier Step Functions picks for ``error``: the first whose ErrorEquals names it, or
    ``States.ALL``, or ``States.TaskFailed`` (any error but ``States.Timeout``)."""
    for retrier in retry:
        names = retrier["ErrorEquals"]
        if error in names or "States.ALL" in names:
            return retrier
        if "States.TaskFailed" in names and error != "States.Timeout":
            return retrier
    return None


def _waits(retrier: Mapping[str, Any]) -> list[float]:
    """Each retry's wait before jitter: IntervalSeconds x BackoffRate^n, capped at
    MaxDelaySeconds (the ASL defaults: 1 s, 3 attempts, rate 2)."""
    delay = float(retrier.get("IntervalSeconds", 1))
    cap = float(retrier.get("MaxDelaySeconds", float("inf")))
    waits = []
    for _ in range(retrier.get("MaxAttempts", 3)):
        waits.append(min(delay, cap))
        delay *= float(retrier.get("BackoffRate", 2.0))
    return waits


# How Step Functions reports an invocation that died: the function's timeout, out of memory or
# a crash (Lambda.Unknown; Sandbox.Timedout from newer runtimes), the state's own TimeoutSeconds.
DIED = ("Lambda.Unknown", "Sandbox.Timedout", "States.Timeout")
NEVER_RAN = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
)


def _analyzer_claim_ttl(template: dict[str, Any]) -> float:
    from analyzer_lambda.config import CLAIM_TTL, Config

    variables = template["Resources"]["AnalyzerFunction"]["Properties"]["Environment"]
    given = variables["Variables"].get(CLAIM_TTL)
    return float(given) if given is not None else Config.from_env({}).claim_ttl


@pytest.mark.parametrize("error", DIED)
def test_a_run_complete_invocation_that_died_is_tried_again_once_its_claim_has_expired(
    definition: dict[str, Any], template: dict[str, Any], error: str
) -> None:
    step = definition["States"]["RunComplete"]
    retrier = _retrier(step["Retry"], error)
    assert retrier is not None, f"{error} is not retried"
    assert retrier["MaxAttempts"] >= 2
    # A killed invocation holds the run's claim until CLAIM_TTL: a try before that would find
    # it "claimed" and end the execution while nobody writes the report.
    assert min(_waits(retrier)) > _analyzer_claim_ttl(template)
    assert retrier.get("JitterStrategy", "NONE") == "NONE"  # a full jitter could be at 0 s
    # the state's own timeout is the later one: Lambda's answers first, with its error
    function = template["Resources"]["AnalyzerFunction"]["Properties"]
    assert step["TimeoutSeconds"] > function["Timeout"]


@pytest.mark.parametrize("error", NEVER_RAN)
def test_a_run_complete_invocation_lambda_refused_is_tried_again_within_seconds(
    definition: dict[str, Any], error: str
) -> None:
    retrier = _retrier(definition["States"]["RunComplete"]["Retry"], error)
    assert retrier is not None, f"{error} is not retried"
    assert retrier["BackoffRate"] > 1
    assert retrier["JitterStrategy"] == "FULL"
    assert sum(_waits(retrier)) < 120


def test_the_run_complete_step_ends_however_its_invocations_fail(
    definition: dict[str, Any],
) -> None:
    """Every retrier is bounded, each try by TimeoutSeconds, and whatever is left is caught:
    the execution ends (RunIncomplete at worst) within a bounded time."""
    step = definition["States"]["RunComplete"]
    assert _retrier(step["Retry"], "RunReportUnfinishedError") is step["Retry"][0]
    assert _retrier(step["Retry"], "RunNotCompleteError") is step["Retry"][1]
    assert _retrier(step["Retry"], "SomethingElse") is None  # a bug is not retried
    for retrier in step["Retry"]:
        assert not {"States.ALL", "States.TaskFailed"} & set(retrier["ErrorEquals"])
    tries = 1 + sum(r["MaxAttempts"] for r in step["Retry"])
    worst = tries * step["TimeoutSeconds"] + sum(sum(_waits(r)) for r in step["Retry"])
    assert worst < 2 * 24 * 3600
    [catch] = step["Catch"]
    assert (catch["ErrorEquals"], catch["Next"]) == (["States.ALL"], "RunIncomplete")
