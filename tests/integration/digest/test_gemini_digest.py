"""The digest written by Gemini — the fake Gemini REST server reached through
``GOOGLE_GEMINI_BASE_URL``, as google-genai reaches a proxy — from a run's change records:
what the request carried, how the answer lands in ``digest.md`` and ``digest.json``, retries,
and the fallback when the answer cannot be used."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.config import Config
from analyzer_lambda.digest.build import build_digest, write_digest
from analyzer_lambda.digest.markdown import to_markdown
from tests.unit.analyzer_lambda.digest.samples import FACTS, RECORDS, RUN, UNCHANGED

if TYPE_CHECKING:
    from pathlib import Path

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration

ANSWER = {
    "points": [
        {"importance": "medium", "competitor": "Northwind", "url": "https://northwind.example/",
         "summary": "Northwind no longer claims SOC 2."},
        {"importance": "high", "competitor": "Acme Analytics",
         "url": "https://acme.example/pricing", "summary": "Starter went from $49 to $59."},
        {"importance": "high", "competitor": "Northwind Metrics",
         "url": "https://northwind.example/plans", "summary": "A new Enterprise plan."},
    ]
}  # fmt: skip


def _reply(answer: dict[str, Any]) -> str:
    return "reply:" + json.dumps(answer, ensure_ascii=False)


def _config(**changes: Any) -> Config:
    return Config.from_env(os.environ).replace(**changes)


def _expected_usage(gemini: GeminiServer) -> dict[str, int]:
    """What the fake's usageMetadata said, summed over the calls that got an answer."""
    total = {"input_tokens": 0, "output_tokens": 0}
    for request in gemini.requests:
        chars = sum(len(t) for t in request.texts) + len(request.system_text)
        total["input_tokens"] += chars // 4
    return total


def test_the_request_carries_only_the_changes_with_a_response_schema(
    gemini: GeminiServer,
) -> None:
    gemini.reset(script=[_reply(ANSWER)])
    build_digest(RUN, RECORDS, FACTS, _config())
    [request] = gemini.requests
    assert request.model == "gemini-2.5-flash"
    assert request.api_key == "test-key"
    [text] = request.texts
    assert request.image_parts == []  # no screenshot, no page
    sent = [json.loads(line) for line in text.split(">>>\n", 1)[1].splitlines()[:-1]]
    assert [c["url"] for c in sent][:3] == [
        "https://acme.example/pricing",
        "https://hanami.example/ja/pricing",
        "https://northwind.example/plans",
    ]  # fmt: skip — most important first
    assert sent[0]["answer_fields"] == [
        {"path": "pricing[Starter].price", "before": 49, "after": 59}
    ]
    assert sent[0]["text_added"] == ["Starter $59 per month"]
    assert 'https://acme.example/"' not in text  # the unchanged page is not sent at all
    assert "untrusted" in request.system_text
    assert "English" in request.system_text
    config = request.generation_config
    assert config["responseMimeType"] == "application/json"
    points = config["responseJsonSchema"]["properties"]["points"]["items"]
    assert points["required"] == ["importance", "competitor", "url", "summary"]


def test_the_structured_answer_becomes_digest_md_and_its_usage_digest_json(
    gemini: GeminiServer, tmp_path: Path
) -> None:
    gemini.reset(script=[_reply(ANSWER)])
    digest = build_digest(RUN, RECORDS, FACTS, _config())
    write_digest(digest, tmp_path)
    text = (tmp_path / "digest.md").read_text("utf-8")
    points = [line for line in text.splitlines() if line.startswith("- ")]
    assert points == [  # high first; the competitor is ours for that page, not the model's
        "- **high** · **Acme Analytics** — Starter went from $49 to $59.",
        "- **high** · **Northwind Metrics** — A new Enterprise plan.",
        "- **medium** · **Northwind Metrics** — Northwind no longer claims SOC 2.",
    ]
    assert "  <https://acme.example/pricing>" in text
    assert text.rstrip().endswith("_Written by gemini-2.5-flash from the run's changes._")
    stored = json.loads((tmp_path / "digest.json").read_text("utf-8"))
    assert stored["writer"] == "gemini"
    assert stored["model"] == "gemini-2.5-flash"
    assert stored["calls"] == 1
    assert stored["usage"]["input_tokens"] == _expected_usage(gemini)["input_tokens"] > 0
    assert stored["usage"]["output_tokens"] == len(json.dumps(ANSWER, ensure_ascii=False)) // 4
    assert stored["counts"]["changed"] == 6


@pytest.mark.parametrize("failures", [["500"], ["429", "500"]])
def test_a_500_or_429_is_retried_then_the_answer_is_used(
    gemini: GeminiServer, failures: list[str]
) -> None:
    gemini.reset(script=[*failures, _reply(ANSWER)])
    digest = build_digest(RUN, RECORDS, FACTS, _config())
    assert gemini.calls == len(failures) + 1
    assert digest.writer == "gemini"
    assert digest.calls == len(failures) + 1
    assert digest.points[0].summary == "Starter went from $49 to $59."


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("plain_text", "unusable answer: not JSON"),
        ("ok", "unusable answer: names a page that is not among the changes"),  # made-up URL
        (_reply({"points": [ANSWER["points"][0]]}), "leaves out the most important change"),
    ],
)
def test_an_unusable_answer_is_asked_once_more_then_the_offline_digest_says_why(
    gemini: GeminiServer, tmp_path: Path, behaviour: str, reason: str
) -> None:
    gemini.reset(default=behaviour)
    digest = build_digest(RUN, RECORDS, FACTS, _config())
    assert gemini.calls == 2
    write_digest(digest, tmp_path)
    text = (tmp_path / "digest.md").read_text("utf-8")
    assert (
        "- **high** · **Acme Analytics** — price changed: pricing\\[Starter\\].price: 49 → 59"
        in text
    )
    assert "_Gemini could not write this digest (" in text
    assert reason in text
    stored = json.loads((tmp_path / "digest.json").read_text("utf-8"))
    assert (stored["writer"], stored["model"], stored["calls"]) == (
        "deterministic", "gemini-2.5-flash", 2,
    )  # fmt: skip
    assert stored["usage"]["input_tokens"] == _expected_usage(gemini)["input_tokens"] > 0
    assert reason in stored["fallback"]


def test_gemini_down_for_every_attempt_falls_back_after_gemini_max_attempts(
    gemini: GeminiServer,
) -> None:
    gemini.reset(default="500")
    digest = build_digest(RUN, RECORDS, FACTS, _config(gemini_max_attempts=3))
    assert gemini.calls == 3
    assert digest.writer == "deterministic"
    assert digest.fallback == "3 attempts failed, last: HTTP 500 INTERNAL"
    assert digest.usage.input_tokens == 0  # no answer, nothing billed


def test_a_refused_key_is_not_retried(gemini: GeminiServer) -> None:
    gemini.reset(default="403")
    digest = build_digest(RUN, RECORDS, FACTS, _config())
    assert gemini.calls == 1
    assert digest.fallback is not None
    assert digest.fallback.startswith("HTTP 403")


def test_a_run_with_no_change_makes_no_call(gemini: GeminiServer) -> None:
    digest = build_digest(RUN, [UNCHANGED], FACTS, _config())
    assert gemini.calls == 0
    assert to_markdown(digest) == (
        "No change across 1 competitors (1 pages) since the previous run.\n"
    )


def test_a_japanese_team_asks_gemini_for_japanese(gemini: GeminiServer) -> None:
    summary = "Starter の月額が 49 ドルから 59 ドルに上がりました。"
    point = {"importance": "high", "competitor": "Acme Analytics",
             "url": "https://acme.example/pricing", "summary": summary}  # fmt: skip
    answer = {"points": [point]}
    gemini.reset(script=[_reply(answer)])
    digest = build_digest(RUN, RECORDS, FACTS, _config(digest_language="ja"))
    assert "Japanese" in gemini.requests[0].system_text
    assert '"ja"' in gemini.requests[0].system_text
    text = to_markdown(digest)
    assert f"- **重要** · **Acme Analytics** — {summary}" in text
    assert text.startswith(f"# rivalscope ダイジェスト・実行 {RUN}\n")
