"""The digest as data: its points and how it was written. ``digest.md``, ``digest.json`` and the
report's section are renderings of one ``Digest``, so they never disagree. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from rivalscope_core.records import Usage

if TYPE_CHECKING:
    from analyzer_lambda.digest.rank import Importance

State = Literal["changes", "quiet", "first"]
Writer = Literal["gemini", "deterministic"]


@dataclass(frozen=True)
class Point:
    """One thing that changed: how much it matters, whose page, which page, what happened."""

    importance: Importance
    competitor: str
    url: str
    summary: str
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "importance": self.importance,
            "competitor": self.competitor,
            "url": self.url,
            "summary": self.summary,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Digest:
    """``state``: ``quiet`` (nothing changed: one line), ``first`` (the spider's first capture)
    or ``changes``. ``language`` is the tag the points are written in; ``frame`` the language of
    the heading and counts (``en`` or ``ja``). ``usage`` and ``calls`` count every Gemini call
    made for it, failed answers included: they were billed."""

    run: str
    state: State
    counts: dict[str, int]
    points: tuple[Point, ...] = ()
    omitted: int = 0
    language: str = "en"
    frame: str = "en"
    requested_language: str = "en"
    writer: Writer = "deterministic"
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    calls: int = 0
    fallback: str | None = None
    #: the stored digest of the same request this one is (usage 0: nothing was called)
    reused_from: str | None = None

    def with_points(self, points: tuple[Point, ...], omitted: int) -> Digest:
        return replace(self, points=points, omitted=omitted)

    def to_dict(self) -> dict[str, Any]:
        """``digest.json``: what the cost ledger counts (``usage``, ``model``, ``calls``) and
        what a notifier may want besides the Markdown (``counts``, ``points``)."""
        return {
            "run": self.run,
            "state": self.state,
            "language": self.language,
            "requested_language": self.requested_language,
            "writer": self.writer,
            "model": self.model,
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
            },
            "calls": self.calls,
            "fallback": self.fallback,
            "reused_from": self.reused_from,
            "counts": dict(self.counts),
            "points": [p.to_dict() for p in self.points],
            "omitted": self.omitted,
        }
