"""The route table's edges that need no storage: the Slack seam, the page and its CSP, the
function URL's event and answer shapes."""

from __future__ import annotations

import base64
import json
import sys
import types
from typing import TYPE_CHECKING, Any, cast

import pytest

from analyzer_lambda.frontdoor import app
from analyzer_lambda.frontdoor.app import FrontDoor, mount_slack
from analyzer_lambda.frontdoor.assets import PAGE_CSP
from analyzer_lambda.frontdoor.config import ApiConfig
from analyzer_lambda.frontdoor.http import Request, Response
from analyzer_lambda.frontdoor.lambda_url import from_url_event, parse_digests, to_url_response
from analyzer_lambda.frontdoor.throttle import Throttle
from rivalscope_core.addresses import AddressPolicy
from tests.conftest import load_event

if TYPE_CHECKING:
    from collections.abc import Mapping


def _front(*, page: bool = False) -> FrontDoor:
    return FrontDoor(
        config=ApiConfig(),
        store=cast("Any", None),  # these routes never touch S3
        launcher=cast("Any", None),
        policy=AddressPolicy(),
        digests=lambda: (),
        starts=Throttle(1, 1),
        reads=Throttle(1, 1),
        page=page,
    )


def test_slack_commands_reach_the_slack_module_raw_and_unauthenticated_by_the_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[tuple[bytes, Mapping[str, str], FrontDoor]] = []
    module = types.ModuleType(app.SLACK_MODULE)

    def make_handler(front: FrontDoor) -> Any:
        def handle(body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
            received.append((body, headers, front))
            return 200, {"Content-Type": "application/json"}, b'{"text": "crawling 2 pages..."}'

        return handle

    module.make_handler = make_handler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, app.SLACK_MODULE, module)
    front = mount_slack(_front())
    raw = b"token=x&command=%2Frivalscope&text=https%3A%2F%2Fa.example+pricing%3F"
    signed = {"x-slack-signature": "v0=abc", "x-slack-request-timestamp": "1796205600"}
    answer = front.handle(Request("POST", "/slack/commands", headers=signed, body=raw))
    assert (answer.status, answer.body) == (200, b'{"text": "crawling 2 pages..."}')
    assert answer.headers == {"content-type": "application/json"}
    assert received == [(raw, signed, front)]  # the bytes Slack signed, untouched


def test_without_the_slack_module_the_route_says_so() -> None:
    front = mount_slack(_front())
    answer = front.handle(Request("POST", "/slack/commands", body=b"x"))
    assert answer.status == 404
    assert json.loads(answer.body)["error"]["code"] == "slack_not_configured"


def test_the_page_is_served_with_a_strict_policy_when_enabled() -> None:
    front = _front(page=True)
    page = front.handle(Request("GET", "/"))
    assert page.status == 200
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert "script-src 'self';" in PAGE_CSP
    assert "'unsafe-inline'" not in PAGE_CSP
    html = page.body.decode()
    assert '<script src="/page.js" defer></script>' in html
    assert "<script>" not in html  # nothing inline for the policy to refuse
    assert "style=" not in html
    script = front.handle(Request("GET", "/page.js"))
    assert script.headers["content-type"].startswith("text/javascript")
    assert b".innerHTML" not in script.body  # every element is built with textContent
    assert _front().handle(Request("GET", "/")).status == 404


def test_a_function_url_event_becomes_a_request_and_a_response_its_answer() -> None:
    request = from_url_event(load_event("function_url_post_runs.json"))
    assert (request.method, request.path) == ("POST", "/runs")
    assert request.headers["authorization"] == "Bearer rs_test-key"
    assert json.loads(request.body)["max_pages"] == 3  # base64 bodies are decoded
    assert request.identity is None
    answer = to_url_response(Response(202, b'{"run": 1}', {"content-type": "application/json"}))
    assert answer == {
        "statusCode": 202,
        "headers": {"content-type": "application/json"},
        "body": '{"run": 1}',
        "isBase64Encoded": False,
    }
    binary = to_url_response(Response(200, b"\xff\xd8"))
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\xd8"


@pytest.mark.parametrize(
    "secret",
    ['{"sha256": ["AA", "bb"]}', '["aa", "bb"]', "aa, bb", " aa,bb,\n"],
)
def test_the_key_secret_may_be_json_or_comma_separated(secret: str) -> None:
    assert parse_digests(secret) == ("aa", "bb")
