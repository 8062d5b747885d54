"""infra/template.yaml, the Slack command: a public function URL that only Slack's signature
opens, least-privilege roles, and secrets by reference (cfn-lint's verdict on the whole file is
``test_template.test_cfn_lint_passes_including_informational_checks``)."""

from __future__ import annotations

from typing import Any

from analyzer_lambda import config
from tests.unit.infra.cfn import (
    as_list,
    refers_to,
    resources_of_type,
    role_statements,
    s3_grants,
    sub_text,
)


def _secrets_read(template: dict[str, Any], role: str) -> list[Any]:
    return [
        resource
        for statement in role_statements(template, role)
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


def test_the_slack_url_is_public_only_because_slack_signs_every_request(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    [url] = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::Lambda::Url").values()
        if refers_to(r["Properties"]["TargetFunctionArn"], "SlackFunction")
    ]
    assert url["AuthType"] == "NONE"
    permissions = [
        p["Properties"]
        for p in resources_of_type(template, "AWS::Lambda::Permission").values()
        if refers_to(p["Properties"]["FunctionName"], "SlackFunction")
    ]
    by_action = {p["Action"]: p for p in permissions}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    # the public lambda:InvokeFunction is for calls through the URL only, never the API
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    function = resources["SlackFunction"]["Properties"]
    assert function["ImageConfig"]["Command"] == ["analyzer_lambda.slack.handler.lambda_handler"]
    outputs = template["Outputs"]["SlackCommandUrl"]["Value"]
    assert sub_text(outputs).endswith("}slack/commands")


def test_slack_secrets_are_passed_by_reference_and_each_function_reads_only_its_own(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    for name in ("SlackSigningSecret", "SlackBotTokenSecret"):
        assert resources[name]["Type"] == "AWS::SecretsManager::Secret"
        assert "SecretString" not in resources[name]["Properties"]  # put-secret-value later
    slack_env = resources["SlackFunction"]["Properties"]["Environment"]["Variables"]
    analyzer_env = resources["AnalyzerFunction"]["Properties"]["Environment"]["Variables"]
    for env in (slack_env, analyzer_env):
        assert not {config.SLACK_SIGNING_SECRET, config.SLACK_BOT_TOKEN} & set(env)
    assert refers_to(slack_env[config.SLACK_SIGNING_SECRET_ARN], "SlackSigningSecret")
    assert refers_to(analyzer_env[config.SLACK_BOT_TOKEN_SECRET_ARN], "SlackBotTokenSecret")
    assert _secrets_read(template, "SlackRole") == [{"Ref": "SlackSigningSecret"}]
    assert {r["Ref"] for r in _secrets_read(template, "AnalyzerRole")} == {
        "GeminiApiKeySecret",
        "SlackBotTokenSecret",
    }


def test_the_slack_function_may_only_claim_replays_keep_replies_and_start_runs(
    template: dict[str, Any],
) -> None:
    assert s3_grants(template, "SlackRole", "PagesBucket") == {
        "s3:PutObject": {
            "slack/seen/*",
            "reports/competitors/*/slack/reply.json",
            "config/runs/*",
            "prompts/adhoc-*",
        },
        "s3:GetObject": {"config/runs/*", "prompts/*"},
        "s3:ListBucket": {""},
    }
    [listing] = [
        s for s in role_statements(template, "SlackRole") if s["Action"] == "s3:ListBucket"
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["config/runs/*", "prompts/*"]}}
    others = {
        action: as_list(statement["Resource"])
        for statement in role_statements(template, "SlackRole")
        for action in as_list(statement["Action"])
        if not action.startswith(("s3:", "secretsmanager:"))
    }
    assert set(others) == {
        "logs:CreateLogStream", "logs:PutLogEvents", "lambda:InvokeFunction",
        "states:StartExecution",
    }  # fmt: skip
    assert others["states:StartExecution"] == [{"Ref": "CrawlStateMachine"}]
    # itself only (Bolt's lazy listener), by the name the function is given
    own = sub_text(template["Resources"]["SlackFunction"]["Properties"]["FunctionName"])
    assert own == "${AWS::StackName}-slack"
    assert [sub_text(r).rsplit(":function:", 1)[1] for r in others["lambda:InvokeFunction"]] == [
        own,
        own + ":*",
    ]


def test_the_lazy_start_is_never_retried_and_replay_claims_expire(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    [invoke] = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::Lambda::EventInvokeConfig").values()
        if refers_to(r["Properties"]["FunctionName"], "SlackFunction")
    ]
    assert invoke["MaximumRetryAttempts"] == 0  # a retried start would start the run twice
    rules = resources["PagesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [claims] = [r for r in rules if r.get("Prefix") == "slack/seen/"]
    assert (claims["Status"], claims["ExpirationInDays"]) == ("Enabled", 1)


def test_every_slack_function_variable_is_one_the_code_reads(resources: dict[str, Any]) -> None:
    from analyzer_lambda.frontdoor import config as frontdoor_config  # the run starter's

    known = {
        value
        for module in (config, frontdoor_config)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str)
    }
    variables = set(resources["SlackFunction"]["Properties"]["Environment"]["Variables"])
    assert variables - {"POWERTOOLS_SERVICE_NAME"} <= known, variables - known
