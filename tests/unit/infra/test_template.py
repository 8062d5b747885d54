"""infra/template.yaml: what an operator relies on once it is deployed, read from the template
itself (there is no AWS account here), plus cfn-lint's verdict on the whole file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from analyzer_lambda import events
from tests.unit.infra.cfn import (
    TEMPLATE_PATH,
    as_list,
    policy_documents,
    refers_to,
    resources_of_type,
    role_statements,
    s3_grants,
    sub_text,
)

FARGATE_MAX_STOP_TIMEOUT = 120


def _props(resources: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(resources[name]["Properties"])


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    [(name, resource)] = found.items()
    return name, resource["Properties"]


def test_cfn_lint_passes_including_informational_checks() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--include-checks", "I", "--", str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_is_plain_cloudformation(template: dict[str, Any]) -> None:
    # cfn-lint does not expand SAM (shared/NOTES.md): a transform would hide mistakes from it.
    assert "Transform" not in template


def test_bucket_is_encrypted_and_blocks_all_public_access(resources: dict[str, Any]) -> None:
    bucket = _props(resources, "PagesBucket")
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    block = bucket["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_bucket_policy_refuses_requests_without_tls(template: dict[str, Any]) -> None:
    [policy] = [
        p["Properties"]
        for p in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if refers_to(p["Properties"]["Bucket"], "PagesBucket")
    ]
    denials = [
        s
        for s in as_list(policy["PolicyDocument"]["Statement"])
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1
    [deny] = denials
    assert deny["Principal"] == "*"
    assert as_list(deny["Action"]) == ["s3:*"]
    covered = {sub_text(r) if "Fn::Sub" in r else "bucket" for r in as_list(deny["Resource"])}
    assert covered == {"bucket", "${PagesBucket.Arn}/*"}


def test_raw_pages_expire_after_the_retention_days(template: dict[str, Any]) -> None:
    rules = template["Resources"]["PagesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [raw_rule] = [r for r in rules if r.get("Prefix") == "raw/"]
    assert raw_rule["Status"] == "Enabled"
    assert refers_to(raw_rule["ExpirationInDays"], "RawRetentionDays")
    assert template["Parameters"]["RawRetentionDays"]["Default"] == 30
    # Nothing else expires (prompts, analyses and reports stay) but the Slack command's replay
    # claims, useless once the 5-minute window has passed (tests/unit/infra/test_slack_template.py)
    others = [r for r in rules if r is not raw_rule and r.get("Prefix") != "slack/seen/"]
    assert all("ExpirationInDays" not in r for r in others)


def test_versioning_is_an_explicit_stated_choice(template: dict[str, Any]) -> None:
    versioning = template["Resources"]["PagesBucket"]["Properties"]["VersioningConfiguration"]
    assert refers_to(versioning["Status"], "BucketVersioning")
    parameter = template["Parameters"]["BucketVersioning"]
    assert parameter["Default"] in parameter["AllowedValues"]
    assert "expir" in parameter["Description"]  # says why, in terms of the retention rule


def test_every_new_raw_chunk_and_shard_marker_notifies_its_queue(
    resources: dict[str, Any],
) -> None:
    bucket = resources["PagesBucket"]
    chunks, markers = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    # ObjectCreated:* includes CompleteMultipartUpload, which large chunks end with.
    assert chunks["Event"] == markers["Event"] == "s3:ObjectCreated:*"
    assert refers_to(chunks["Queue"], "AnalysisQueue")
    rules = {r["Name"]: r["Value"] for r in chunks["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": "raw/", "suffix": ".jl.gz"}
    # raw/{spider}/{run}/_done/{I}of{N}.json: the run-complete step (S3 has no infix filter)
    assert refers_to(markers["Queue"], "RunsQueue")
    rules = {r["Name"]: r["Value"] for r in markers["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": "raw/", "suffix": ".json"}
    # S3 checks it may send to the queue when the notification is created.
    assert "AnalysisQueuePolicy" in as_list(bucket["DependsOn"])


def test_queue_policy_lets_only_the_pages_bucket_send(resources: dict[str, Any]) -> None:
    policy = _props(resources, "AnalysisQueuePolicy")
    queues = ["AnalysisQueue", "RunsQueue"]
    assert [refers_to(q, n) for q, n in zip(policy["Queues"], queues, strict=True)] == [True, True]
    [statement] = as_list(policy["PolicyDocument"]["Statement"])
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert as_list(statement["Action"]) == ["sqs:SendMessage"]
    source_arn = sub_text(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    bucket_name = sub_text(_props(resources, "PagesBucket")["BucketName"])
    assert source_arn == "arn:${AWS::Partition}:s3:::" + bucket_name


def test_queue_redrives_to_a_dead_letter_queue_after_three_receives(
    resources: dict[str, Any],
) -> None:
    redrive = _props(resources, "AnalysisQueue")["RedrivePolicy"]
    assert refers_to(redrive["deadLetterTargetArn"], "AnalysisDeadLetterQueue")
    assert redrive["maxReceiveCount"] == 3


def test_visibility_timeout_is_at_least_six_function_timeouts(resources: dict[str, Any]) -> None:
    function_timeout = _props(resources, "AnalyzerFunction")["Timeout"]
    visibility = _props(resources, "AnalysisQueue")["VisibilityTimeout"]
    assert visibility >= 6 * function_timeout
    assert function_timeout <= 900  # Lambda's ceiling


def test_queue_mapping_reports_batch_item_failures_within_the_gemini_quota(
    template: dict[str, Any],
) -> None:
    mapping = _props(template["Resources"], "AnalyzerQueueMapping")
    assert refers_to(mapping["EventSourceArn"], "AnalysisQueue")
    assert refers_to(mapping["FunctionName"], "AnalyzerFunction")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert refers_to(mapping["ScalingConfig"]["MaximumConcurrency"], "AnalyzerMaxConcurrency")
    max_concurrency = template["Parameters"]["AnalyzerMaxConcurrency"]
    calls_per_invocation = template["Parameters"]["AnalyzerConcurrency"]
    assert max_concurrency["MinValue"] == 2  # SQS mappings' minimum
    # Default calls in flight stay small: 10 in flight at ~5 s each is ~120 requests/minute.
    assert max_concurrency["Default"] * calls_per_invocation["Default"] <= 10


def test_analyzer_runs_the_image_with_the_contract_environment(
    resources: dict[str, Any],
) -> None:
    function = _props(resources, "AnalyzerFunction")
    assert function["PackageType"] == "Image"
    assert refers_to(function["Code"]["ImageUri"], "AnalyzerImageRepository")
    variables = function["Environment"]["Variables"]
    assert refers_to(variables["PAGES_BUCKET"], "PagesBucket")
    for name, parameter in {
        "GEMINI_MODEL": "GeminiModel",
        "ANALYSIS_PROMPT": "AnalysisPrompt",
        "CHANGE_RULES": "ChangeRules",
        "ANALYZER": "Analyzer",
        "ANALYZER_CONCURRENCY": "AnalyzerConcurrency",
    }.items():
        assert refers_to(variables[name], parameter), name


def test_every_analyzer_variable_is_one_the_analyzer_reads(resources: dict[str, Any]) -> None:
    from analyzer_lambda import config  # the names it reads live there (STYLE.md)

    known = {v for k, v in vars(config).items() if k.isupper() and isinstance(v, str)}
    variables = set(_props(resources, "AnalyzerFunction")["Environment"]["Variables"])
    assert variables - {"POWERTOOLS_SERVICE_NAME"} <= known, variables - known


def test_gemini_key_comes_from_secrets_manager_never_from_the_template(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    variables = _props(resources, "AnalyzerFunction")["Environment"]["Variables"]
    assert "GEMINI_API_KEY" not in variables
    # the other secret holds the front door's API key digests (test_frontdoor_template.py)
    secret_name = "GeminiApiKeySecret"
    secret = _props(resources, secret_name)
    assert "SecretString" not in secret  # set later with put-secret-value
    assert refers_to(variables["GEMINI_API_KEY_SECRET_ARN"], secret_name)
    readers = [
        s
        for s in role_statements(template, "AnalyzerRole")
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    read = [r for s in readers for r in as_list(s["Resource"])]
    assert [r for r in read if refers_to(r, secret_name)] == [{"Ref": secret_name}]


def test_notification_urls_are_named_by_reference_and_readable_only_where_named(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    """The Apprise URLs carry tokens: the template only names a secret or a parameter, the
    role may read that one only, and only when it is named (a conditional policy)."""
    variables = _props(resources, "AnalyzerFunction")["Environment"]["Variables"]
    assert "NOTIFY_URLS" not in variables
    assert refers_to(variables["NOTIFY_ON"], "NotifyOn")
    assert template["Parameters"]["NotifyOn"]["Default"] == "changes"
    for variable, parameter, condition, policy in (
        ("NOTIFY_URLS_SECRET_ARN", "NotifyUrlsSecretArn", "HasNotifySecret",
         "AnalyzerNotifySecretPolicy"),
        ("NOTIFY_URLS_PARAMETER", "NotifyUrlsParameterName", "HasNotifyParameter",
         "AnalyzerNotifyParameterPolicy"),
    ):  # fmt: skip
        assert template["Parameters"][parameter]["Default"] == ""
        [name, value, absent] = variables[variable]["Fn::If"]
        assert (name, refers_to(value, parameter), absent) == (
            condition, True, {"Ref": "AWS::NoValue"},
        )  # fmt: skip
        assert resources[policy]["Condition"] == condition
        [statement] = resources[policy]["Properties"]["PolicyDocument"]["Statement"]
        assert refers_to(statement["Resource"], parameter)
        assert [refers_to(r, "AnalyzerRole") for r in resources[policy]["Properties"]["Roles"]]
    readers = [
        s
        for s in role_statements(template, "AnalyzerRole")
        if "ssm:GetParameter" in as_list(s["Action"])
    ]
    assert readers == []  # the role itself reads no parameter: only the conditional policy


def test_no_policy_allows_a_wildcard_action_on_a_wildcard_resource(
    template: dict[str, Any],
) -> None:
    offenders = []
    star_resource_actions = set()
    for owner, document in policy_documents(template):
        for statement in as_list(document["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            actions = as_list(statement["Action"])
            resources_ = as_list(statement.get("Resource", []))
            if "*" in resources_:
                star_resource_actions.update(actions)
                if any(a == "*" or a.endswith(":*") for a in actions):
                    offenders.append((owner, statement))
    assert not offenders
    # The one action that only exists on "*": logging in to ECR to pull the crawler image.
    assert star_resource_actions == {"ecr:GetAuthorizationToken"}


def test_crawler_may_only_put_under_raw_and_read_its_watch_list_and_prompts(
    template: dict[str, Any],
) -> None:
    # GetObject on raw/* authorises the HEAD the pipeline makes after a 412 on its own chunk.
    assert s3_grants(template, "CrawlerTaskRole", "PagesBucket") == {
        "s3:PutObject": {"raw/*"},
        "s3:AbortMultipartUpload": {"raw/*"},
        "s3:GetObject": {"config/*", "prompts/*", "raw/*"},
    }
    # The scheduled crawl's watch list is inside what the crawler may read.
    assert template["Parameters"]["WatchListKey"]["AllowedPattern"] == "^config/.+"


def test_analyzer_may_only_read_raw_prompts_config_and_write_analysis_manifests_and_reports(
    template: dict[str, Any],
) -> None:
    # Reading and deleting under analysis/ is its own idempotency bookkeeping (claims); under
    # reports/, the run-complete step's run.claim, run.json and the run's report; under raw/ it
    # writes only the manifests beside the chunks, and it reads CHANGE_RULES in config/.
    assert s3_grants(template, "AnalyzerRole", "PagesBucket") == {
        "s3:GetObject": {"raw/*", "prompts/*", "analysis/*", "config/*", "reports/*"},
        "s3:ListBucket": {""},
        "s3:PutObject": {"analysis/*", "raw/*/_manifest/*", "reports/*"},
        "s3:DeleteObject": {"analysis/*", "reports/*"},
    }
    [listing] = [
        s for s in role_statements(template, "AnalyzerRole") if s["Action"] == "s3:ListBucket"
    ]
    # reports/: a missing run.json or Slack reply record must read as 404, not 403
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["raw/*", "prompts/*", "analysis/*", "reports/*"]}
    }  # reports/*: the cost ledger lists the bytes stored under the run


def test_crawler_task_is_sized_reaped_and_given_time_to_flush(
    template: dict[str, Any],
) -> None:
    _, task = _one(template, "AWS::ECS::TaskDefinition")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert (task["Cpu"], task["Memory"]) == ("1024", "3072")  # 1 vCPU / 3 GB, 2 browsers
    assert task["EphemeralStorage"]["SizeInGiB"] >= 21
    [container] = task["ContainerDefinitions"]
    assert container["LinuxParameters"]["InitProcessEnabled"] is True
    assert 60 <= container["StopTimeout"] <= FARGATE_MAX_STOP_TIMEOUT
    assert refers_to(container["Image"], "CrawlerImageRepository")
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert refers_to(env["PAGES_BUCKET"], "PagesBucket")
    assert sub_text(env["WATCHLIST"]) == "s3://${PagesBucket}/${WatchListKey}"
    # the crawl records the boxes of the same rules' ignore_selectors the analyser applies
    assert refers_to(env["CHANGE_RULES"], "ChangeRules")
    assert "URLS_FILE" not in env  # docker/crawl still honours it for older task definitions
    logging = container["LogConfiguration"]
    assert logging["LogDriver"] == "awslogs"
    assert refers_to(logging["Options"]["awslogs-group"], "CrawlerLogGroup")


def test_the_cost_ledger_prices_the_task_and_function_as_deployed(
    template: dict[str, Any],
) -> None:
    from analyzer_lambda.config import Config

    _, task = _one(template, "AWS::ECS::TaskDefinition")
    function = _props(template["Resources"], "AnalyzerFunction")
    variables = function["Environment"]["Variables"]
    config = Config.from_env({k: v for k, v in variables.items() if isinstance(v, str)})
    assert (config.crawl_task_cpu, config.crawl_task_memory) == (
        int(task["Cpu"]),
        int(task["Memory"]),
    )
    assert config.crawl_task_architecture == task["RuntimePlatform"]["CpuArchitecture"].lower()
    assert [config.analyzer_architecture] == function["Architectures"]


def test_every_log_group_has_a_retention_and_the_function_uses_one(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert set(groups) == {
        "CrawlerLogGroup",
        "AnalyzerLogGroup",
        "ShardPlannerLogGroup",
        "FrontDoorLogGroup",
        "SlackLogGroup",
    }
    for group in groups.values():
        assert refers_to(group["Properties"]["RetentionInDays"], "LogRetentionDays")
    for function, name in (
        ("AnalyzerFunction", "AnalyzerLogGroup"),
        ("SlackFunction", "SlackLogGroup"),
    ):
        assert refers_to(_props(resources, function)["LoggingConfig"]["LogGroup"], name)


def test_schedule_starts_the_crawl_state_machine_on_the_configured_cadence(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    schedule = _props(resources, "CrawlSchedule")
    assert refers_to(schedule["ScheduleExpression"], "CrawlScheduleExpression")
    target = schedule["Target"]
    assert refers_to(target["Arn"], "CrawlStateMachine")
    assert "EcsParameters" not in target  # the state machine runs the tasks
    assert sub_text(target["Input"]) == '{"list_key": "${WatchListKey}"}'
    # The scheduler may start exactly this state machine, and nothing else.
    [statement] = role_statements(template, "CrawlSchedulerRole")
    assert statement["Action"] == "states:StartExecution"
    assert refers_to(statement["Resource"], "CrawlStateMachine")


def test_batch_collector_schedule_invokes_only_the_analyser_with_the_collect_event(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    schedules = resources_of_type(template, "AWS::Scheduler::Schedule")
    assert sorted(schedules) == ["BatchCollectSchedule", "CrawlSchedule"]
    schedule = _props(resources, "BatchCollectSchedule")
    assert refers_to(schedule["ScheduleExpression"], "BatchCollectScheduleExpression")
    assert template["Parameters"]["BatchCollectScheduleExpression"]["Default"].startswith("rate(")
    target = schedule["Target"]
    assert refers_to(target["Arn"], "AnalyzerFunction")  # the same image, the same role
    assert json.loads(target["Input"]) == {"collect_batches": {}}
    assert events.event_kind(json.loads(target["Input"])) == "collect_batches"
    # The scheduler may invoke exactly the analyser, and nothing else.
    [statement] = role_statements(template, "BatchCollectSchedulerRole")
    assert statement["Action"] == "lambda:InvokeFunction"
    assert refers_to(statement["Resource"], "AnalyzerFunction")


def _alarm_on(template: dict[str, Any], metric: str, target: str) -> dict[str, Any]:
    alarms = [
        a["Properties"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == metric
        and any(refers_to(d["Value"], target) for d in a["Properties"]["Dimensions"])
    ]
    assert len(alarms) == 1, f"expected one {metric} alarm on {target}"
    alarm: dict[str, Any] = alarms[0]
    assert [refers_to(action, "AlertsTopic") for action in alarm["AlarmActions"]] == [True]
    assert alarm["TreatMissingData"] == "notBreaching"
    return alarm


def test_alarms_fire_on_a_nonempty_dlq_and_function_errors_and_throttles(
    template: dict[str, Any],
) -> None:
    dlq = _alarm_on(template, "ApproximateNumberOfMessagesVisible", "AnalysisDeadLetterQueue")
    assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanThreshold", 0)
    for metric in ("Errors", "Throttles"):
        alarm = _alarm_on(template, metric, "AnalyzerFunction")
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_a_notification_that_failed_after_its_retries_alarms(template: dict[str, Any]) -> None:
    """The handler's Powertools metric (namespace rivalscope, dimension service=analyzer)."""
    [alarm] = [
        resource["Properties"]
        for resource in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if resource["Properties"]["MetricName"] == "NotificationsFailed"
    ]
    assert alarm["Namespace"] == "rivalscope"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "analyzer"}]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Sum", "GreaterThanThreshold", 0,
    )  # fmt: skip
    assert [refers_to(action, "AlertsTopic") for action in alarm["AlarmActions"]] == [True]


def test_a_crawl_task_stopping_with_a_nonzero_exit_code_alerts(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    _, rule = _one(template, "AWS::Events::Rule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecs"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    detail = pattern["detail"]
    assert [refers_to(c, "CrawlerCluster") for c in detail["clusterArn"]] == [True]
    assert detail["lastStatus"] == ["STOPPED"]
    assert {"containers": {"exitCode": [{"anything-but": 0}]}} in detail["$or"]
    assert [refers_to(t["Arn"], "AlertsTopic") for t in rule["Targets"]] == [True]
    # The topic accepts what this rule (and CloudWatch alarms) publish.
    statements = as_list(_props(resources, "AlertsTopicPolicy")["PolicyDocument"]["Statement"])
    [from_rule] = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert refers_to(from_rule["Condition"]["ArnEquals"]["aws:SourceArn"], "CrawlFailedRule")
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
