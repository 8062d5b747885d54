"""Reading infra/template.yaml as CloudFormation sees it, for the template tests.

cfn-lint's own decoder parses the short intrinsic tags (``!Ref``, ``!Sub``, ``!GetAtt``...) into
their long JSON forms (``{"Ref": ...}``), so the tests compare plain dicts and lists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfnlint.decode import decode  # type: ignore[import-untyped]  # no py.typed

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = ROOT / "infra" / "template.yaml"


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template, problems = decode(str(path))
    assert not problems, [str(problem) for problem in problems]
    assert template is not None
    return dict(template)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def refers_to(value: Any, name: str) -> bool:
    """True when ``value`` is ``!Ref name``, ``!GetAtt name.X`` or a ``!Sub`` naming it."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    [(function, argument)] = value.items()
    if function == "Ref":
        return bool(argument == name)
    if function == "Fn::GetAtt":
        target = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
        return bool(target == name)
    if function == "Fn::Sub":
        text = argument if isinstance(argument, str) else argument[0]
        return re.search(r"\$\{" + re.escape(name) + r"(\.[A-Za-z]+)?\}", text) is not None
    return False


def sub_text(value: Any) -> str:
    """The template string of a ``!Sub`` (or a literal string)."""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict)
    assert set(value) == {"Fn::Sub"}, value
    text = value["Fn::Sub"]
    return text if isinstance(text, str) else text[0]


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM/resource policy document in the template, with the owning resource's name."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for policy in properties.get("Policies", []):
            yield name, policy["PolicyDocument"]
        if "PolicyDocument" in properties:
            yield name, properties["PolicyDocument"]


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    resource = template["Resources"][role]
    assert resource["Type"] == "AWS::IAM::Role"
    statements: list[dict[str, Any]] = []
    for policy in resource["Properties"].get("Policies", []):
        statements.extend(as_list(policy["PolicyDocument"]["Statement"]))
    assert not resource["Properties"].get("ManagedPolicyArns"), "managed policies are opaque"
    return statements


def s3_grants(template: dict[str, Any], role: str, bucket: str) -> dict[str, set[str]]:
    """``{action: {key pattern relative to the bucket ARN, or "" for the bucket itself}}``."""
    grants: dict[str, set[str]] = {}
    for statement in role_statements(template, role):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            if not action.startswith("s3"):
                continue
            for resource in as_list(statement["Resource"]):
                grants.setdefault(action, set()).add(_bucket_relative(resource, bucket))
    return grants


def _bucket_relative(resource: Any, bucket: str) -> str:
    if resource == {"Fn::GetAtt": [bucket, "Arn"]}:
        return ""
    text = sub_text(resource)
    prefix = "${" + bucket + ".Arn}/"
    assert text.startswith(prefix), f"S3 grant outside the pages bucket: {text}"
    return text.removeprefix(prefix)


def state_machine_definition(
    template: dict[str, Any], name: str, values: dict[str, str]
) -> dict[str, Any]:
    """The state machine's ASL as Step Functions receives it: its ``DefinitionSubstitutions``
    replaced by ``values`` (what CloudFormation would put there), every one of them given."""
    import json

    properties = template["Resources"][name]["Properties"]
    assert set(properties["DefinitionSubstitutions"]) == set(values), sorted(values)
    text = json.dumps(properties["Definition"])
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    assert "${" not in text, re.findall(r"\$\{[^}]*\}", text)
    definition: dict[str, Any] = json.loads(text)
    return definition
