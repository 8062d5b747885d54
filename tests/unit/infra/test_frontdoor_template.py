"""infra/template.yaml, the front door (issue #15): a function URL of the analyser image whose
auth type follows FrontDoorAuth, a role that may start only the crawl state machine and touch
only the prefixes a run request needs, and API keys kept as digests in a secret referenced by
ARN, never in the template."""

from __future__ import annotations

from typing import Any

from tests.unit.infra.cfn import (
    as_list,
    refers_to,
    resources_of_type,
    role_statements,
    s3_grants,
)


def _props(resources: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(resources[name]["Properties"])


def test_the_function_url_auth_type_follows_the_parameter_and_is_never_open_by_itself(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    parameter = template["Parameters"]["FrontDoorAuth"]
    assert parameter["AllowedValues"] == ["API_KEY", "AWS_IAM"]
    assert parameter["Default"] == "API_KEY"
    url = _props(resources, "FrontDoorUrl")
    assert refers_to(url["TargetFunctionArn"], "FrontDoorFunction")
    assert url["AuthType"] == {"Fn::If": ["FrontDoorUsesIam", "AWS_IAM", "NONE"]}
    assert template["Conditions"]["FrontDoorUsesIam"] == {
        "Fn::Equals": [{"Ref": "FrontDoorAuth"}, "AWS_IAM"]
    }
    # the function is told which one, so that with AuthType NONE it demands a key
    variables = _props(resources, "FrontDoorFunction")["Environment"]["Variables"]
    assert variables["RIVALSCOPE_API_AUTH"] == {"Fn::If": ["FrontDoorUsesIam", "iam", "key"]}


def test_the_public_invoke_permissions_exist_only_with_api_keys(
    resources: dict[str, Any],
) -> None:
    permissions = {
        name: r for name, r in resources.items() if r["Type"] == "AWS::Lambda::Permission"
    }
    front = {
        n: r
        for n, r in permissions.items()
        if refers_to(r["Properties"]["FunctionName"], "FrontDoorFunction")
    }
    assert {r["Properties"]["Action"] for r in front.values()} == {
        "lambda:InvokeFunctionUrl",
        "lambda:InvokeFunction",
    }
    for resource in front.values():
        assert resource["Condition"] == "FrontDoorUsesKeys"
    [url_invoke] = [r for r in front.values() if r["Properties"]["Action"].endswith("Url")]
    assert url_invoke["Properties"]["FunctionUrlAuthType"] == "NONE"
    [invoke] = [r for r in front.values() if r["Properties"]["Action"] == "lambda:InvokeFunction"]
    # only through the URL, never a direct Invoke by anyone
    assert invoke["Properties"]["InvokedViaFunctionUrl"] is True


def test_the_function_runs_the_front_door_entry_of_the_analyser_image(
    resources: dict[str, Any],
) -> None:
    function = _props(resources, "FrontDoorFunction")
    assert refers_to(function["Code"]["ImageUri"], "AnalyzerImageRepository")
    assert function["ImageConfig"]["Command"] == [
        "analyzer_lambda.frontdoor.lambda_url.lambda_handler"
    ]
    assert refers_to(function["Role"], "FrontDoorRole")
    assert function["Timeout"] <= 30  # it validates and starts; it never crawls
    variables = function["Environment"]["Variables"]
    assert refers_to(variables["CRAWL_STATE_MACHINE_ARN"], "CrawlStateMachine")
    assert refers_to(variables["PAGES_BUCKET"], "PagesBucket")
    from analyzer_lambda.frontdoor import config

    known = {v for k, v in vars(config).items() if k.isupper() and isinstance(v, str)}
    assert set(variables) <= known, set(variables) - known


def test_api_keys_are_digests_in_a_secret_given_by_reference(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    secret = _props(resources, "FrontDoorApiKeysSecret")
    assert "SecretString" not in secret
    assert "GenerateSecretString" not in secret
    variables = _props(resources, "FrontDoorFunction")["Environment"]["Variables"]
    assert refers_to(variables["RIVALSCOPE_API_KEYS_SECRET_ARN"], "FrontDoorApiKeysSecret")
    assert not any("KEY_HASHES" in name for name in variables)  # no digest in the template
    readers = [
        s
        for s in role_statements(template, "FrontDoorRole")
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    assert [r for s in readers for r in as_list(s["Resource"])] == [
        {"Ref": "FrontDoorApiKeysSecret"}
    ]


def test_the_role_may_start_only_the_crawl_state_machine_and_watch_its_own_executions(
    template: dict[str, Any],
) -> None:
    statements = role_statements(template, "FrontDoorRole")
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not any(a.startswith(("ecs:", "lambda:", "iam:", "sqs:")) for a in actions)
    [start] = [s for s in statements if "states:StartExecution" in as_list(s["Action"])]
    assert as_list(start["Resource"]) == [{"Ref": "CrawlStateMachine"}]
    [watch] = [s for s in statements if "states:DescribeExecution" in as_list(s["Action"])]
    [arn] = as_list(watch["Resource"])
    assert arn["Fn::Sub"].endswith(":execution:${AWS::StackName}-crawl:api-*")
    assert {a for a in actions if a.startswith("states:")} == {
        "states:StartExecution",
        "states:DescribeExecution",
    }


def test_the_role_touches_only_the_prefixes_a_run_request_needs(
    template: dict[str, Any],
) -> None:
    assert s3_grants(template, "FrontDoorRole", "PagesBucket") == {
        # the request record and URL list; content-addressed ad-hoc prompts
        "s3:PutObject": {"config/runs/*", "prompts/adhoc-*"},
        # the run's state; reports/* also signs the presigned report and screenshot URLs
        "s3:GetObject": {
            "config/runs/*",
            "prompts/*",
            "raw/*/_done/*",
            "analysis/*",
            "reports/*",
        },
        "s3:ListBucket": {""},
    }
    [listing] = [
        s for s in role_statements(template, "FrontDoorRole") if s["Action"] == "s3:ListBucket"
    ]
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["config/runs/*", "raw/*", "analysis/*", "reports/*"]}
    }


def test_the_presigned_url_lifetime_is_bounded_to_seven_days(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["FrontDoorUrlExpires"]
    assert parameter["MaxValue"] == 7 * 24 * 3600
    outputs = template["Outputs"]
    assert outputs["FrontDoorUrl"]["Value"] == {"Fn::GetAtt": ["FrontDoorUrl", "FunctionUrl"]}


def test_a_failing_front_door_alerts(template: dict[str, Any]) -> None:
    [alarm] = [
        a["Properties"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if any(refers_to(d["Value"], "FrontDoorFunction") for d in a["Properties"]["Dimensions"])
    ]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("Errors", 0)
    assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]
