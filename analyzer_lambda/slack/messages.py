"""Every text and Block Kit message the Slack side sends, from plain values. Pure.

Untrusted text (page titles, model answers, what the user typed) goes through ``mrkdwn``, so
it is shown, never interpreted. Slack's limits are kept here: a section's text is at most
3,000 characters, a header's 150, a message's blocks 50."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analyzer_lambda.slack.mrkdwn import clip, code, escape, link

if TYPE_CHECKING:
    from analyzer_lambda.slack.command import SlackCommand
    from analyzer_lambda.slack.starter import StartedRun

SECTION_LIMIT = 2900  # of Slack's 3,000 per section text, some room for the field name
HEADER_LIMIT = 150
MAX_FIELDS = 12
LIST_ITEMS = 5


@dataclass(frozen=True)
class PageAnswer:
    """One page of a finished run, as the answer shows it (read from the run's report)."""

    url: str
    final_url: str | None
    competitor: str | None
    analysis: dict[str, Any] | None
    error: dict[str, Any] | None
    image_key: str | None = None  # the screenshot, or the crop of its change, in the bucket
    image_is_crop: bool = False

    @property
    def status(self) -> str:
        if self.error:
            return "blocked" if self.error.get("type") == "blocked_by_site" else "failed"
        return "done" if self.analysis is not None else "missing"


def pages_word(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"


def ack_text(command: SlackCommand) -> str:
    """The answer within 3 s: what will be crawled, and that results follow here."""
    shown = ", ".join(f"`{code(url, 120)}`" for url in command.urls[:5])
    more = f" and {len(command.urls) - 5} more" if len(command.urls) > 5 else ""
    asked = f" — “{escape(clip(command.prompt, 300))}”" if command.prompt else ""
    return (
        f"Crawling {pages_word(len(command.urls))}… ({shown}{more}){asked}\n"
        "Each page's analysis and screenshot will be posted here when the run is done."
    )


def started_text(started: StartedRun) -> str:
    status = f" Status: {link(started.status_url, 'run status')}." if started.status_url else ""
    return f"Run `{code(started.run)}` started.{status}"


def refused_text(reason: str) -> str:
    return f"The run was not started: {escape(reason)}"


FAULT_TEXT = "The run could not be started: rivalscope failed (its logs say why). Try again later."


def header_message(
    command: str, pages: list[PageAnswer], report_url: str, shown: int
) -> dict[str, Any]:
    """The run's first answer message: what was asked, the tally, the full report."""
    tally: dict[str, int] = {}
    for page in pages:
        tally[page.status] = tally.get(page.status, 0) + 1
    counts = ", ".join(f"{n} {status}" for status, n in sorted(tally.items()))
    rest = f" The first {shown} are below." if shown < len(pages) else ""
    text = (
        f"rivalscope finished `{code(command, 300)}`: {pages_word(len(pages))} ({counts}). "
        f"{link(report_url, 'Full report')}.{rest}"
    )
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}]
    return {"text": clip(text, SECTION_LIMIT), "blocks": blocks}


def page_message(page: PageAnswer, report_url: str) -> dict[str, Any]:
    """One page's analysis (or error) as a message: a header naming the page, its summary,
    then the answer's other fields."""
    name = page.competitor or page.url
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(name, HEADER_LIMIT)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _page_context(page)}]},
    ]
    sections = _error_lines(page) if page.error or page.analysis is None else _answer(page)
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(s, SECTION_LIMIT)}}
        for s in sections[:MAX_FIELDS]
    ]
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": link(report_url, "report")}]}
    )
    summary = sections[0] if sections else page.status
    return {"text": clip(f"{page.url}: {summary}", SECTION_LIMIT), "blocks": blocks}


def image_title(page: PageAnswer) -> str:
    kind = "What changed on" if page.image_is_crop else "Screenshot of"
    return clip(f"{kind} {page.final_url or page.url}", 250)


def cannot_post_text(error: str, report_url: str) -> str:
    """Sent through the command's ``response_url`` when the bot may not post in the channel."""
    hint = (
        " Invite the app to this channel (`/invite @rivalscope`) to get the pages here."
        if error in {"not_in_channel", "channel_not_found", "is_archived"}
        else ""
    )
    report = link(report_url, "Full report")
    return f"rivalscope finished, but could not post here (`{code(error)}`).{hint} {report}."


def _page_context(page: PageAnswer) -> str:
    shown = page.final_url or page.url
    parts = [link(shown, clip(shown, 150))]
    if page.competitor:
        parts.insert(0, f"*{escape(clip(page.competitor, 80))}*")
    parts.append(page.status)
    return " · ".join(parts)


def _error_lines(page: PageAnswer) -> list[str]:
    error = page.error or {"type": "not_analysed", "message": "no analysis"}
    kind = str(error.get("type") or "error")
    message = str(error.get("message") or "")
    label = (
        "The site served a bot check instead of the page" if kind == "blocked_by_site" else kind
    )
    return [f":warning: *{escape(label)}*: {escape(clip(message, 600))}"]


def _answer(page: PageAnswer) -> list[str]:
    """The summary first (when the answer has one), then each other field."""
    analysis = page.analysis or {}
    lines = []
    summary = analysis.get("summary")
    if isinstance(summary, str) and summary.strip():
        lines.append(escape(clip(summary.strip(), SECTION_LIMIT)))
    for name, value in analysis.items():
        if name == "summary":
            continue
        shown = _value(value)
        if shown:
            lines.append(f"*{escape(name.replace('_', ' ').capitalize())}*: {shown}")
    return lines or ["(an empty answer)"]


def _value(value: Any) -> str:
    if value is None or value == [] or value == {} or value == "":
        return ""
    if isinstance(value, list):
        items = [_scalar_or_object(item) for item in value[:LIST_ITEMS]]
        more = f"\n… and {len(value) - LIST_ITEMS} more" if len(value) > LIST_ITEMS else ""
        return "\n" + "\n".join(f"• {item}" for item in items) + more
    return _scalar_or_object(value)


def _scalar_or_object(value: Any) -> str:
    if isinstance(value, dict):
        parts = [f"{k}: {_flat(v)}" for k, v in value.items() if v not in (None, "", [], {})]
        return escape(clip(", ".join(parts), 500))
    return escape(clip(_flat(value), 1000))


def _flat(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_flat(v)}" for k, v in value.items())
    return str(value)
