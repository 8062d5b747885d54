"""``digest.md``: the digest as Markdown, and the ~300-word cap (SPEC.md: "most important
first"), applied by dropping the least important points and saying how many were left out.

Everything inside a point (competitor names, page text, the model's sentences) is untrusted, so
Markdown's active characters in it are backslash-escaped: a competitor's page cannot turn a
quoted line into a link or a heading in the notification that carries this file. Pure."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from analyzer_lambda.digest.phrases import MAX_WORDS, count_words, offline_language, phrase

if TYPE_CHECKING:
    from collections.abc import Callable

    from analyzer_lambda.digest.model import Digest, Point

# what makes markup inside a list item: emphasis, code, links, autolinks/HTML, strikethrough
_ACTIVE = re.compile(r"([\\`*_\[\]<>~])")


def md_escape(text: str) -> str:
    """Untrusted text as literal Markdown, on one line."""
    return _ACTIVE.sub(r"\\\1", " ".join(text.split()))


def point_line(point: Point, frame: str) -> str:
    """``- **high** · **Acme Analytics** — the summary`` and the page's URL below it."""
    importance = phrase(frame, point.importance)
    return (
        f"- **{importance}** · **{md_escape(point.competitor)}** — {md_escape(point.summary)}\n"
        f"  <{point.url.replace('>', '%3E').replace(' ', '%20')}>"
    )


def headline(digest: Digest) -> str:
    counts = digest.counts
    if digest.state == "quiet":
        return phrase(digest.frame, "quiet", **counts)
    if digest.state == "first":
        return phrase(digest.frame, "first", **counts)
    return phrase(digest.frame, "headline", **counts)


def footer(digest: Digest, escape: Callable[[str], str] = str) -> list[str]:
    """Who wrote the digest; ``escape`` applies to the one untrusted part, Gemini's error."""
    lines = []
    if digest.writer == "gemini":
        lines.append(phrase(digest.frame, "by_gemini", model=digest.model))
    elif digest.fallback is not None:
        lines.append(phrase(digest.frame, "fallback", reason=escape(digest.fallback)))
    else:
        lines.append(phrase(digest.frame, "offline"))
    if digest.writer == "deterministic" and offline_language(digest.requested_language)[1]:
        lines.append(phrase("en", "language", tag=digest.requested_language))
    return lines


def to_markdown(digest: Digest) -> str:
    """The file's text. A run with no change is that one line and nothing else, and so is a
    first capture with nothing to report but its size."""
    if digest.state in ("quiet", "first") and not digest.points:
        return headline(digest) + "\n"
    parts = [f"# {phrase(digest.frame, 'title', run=digest.run)}", "", headline(digest), ""]
    if digest.points:
        parts += [point_line(p, digest.frame) for p in digest.points]
        parts.append("")
    if digest.omitted:
        parts += [phrase(digest.frame, "more", n=digest.omitted), ""]
    parts += [f"_{line}_" for line in footer(digest, md_escape)]
    return "\n".join(parts) + "\n"


def fit(digest: Digest, max_words: int = MAX_WORDS) -> Digest:
    """The digest with as many of its points, in order, as fit in ``max_words`` words (the
    heading, counts, the "and N more" line and footer included); at least one point is always
    kept. Linear in the points: a run of thousands of changes is cut as fast as a small one."""
    points = digest.points
    fixed = [phrase(digest.frame, "title", run=digest.run), headline(digest), *footer(digest)]
    total = sum(count_words(line) for line in fixed)
    more = count_words(phrase(digest.frame, "more", n=len(points)))
    kept = 0
    for point in points:
        words = count_words(point_line(point, digest.frame))
        tail = more if kept + 1 < len(points) else 0
        if kept and total + words + tail > max_words:
            break
        total += words
        kept += 1
    fitted = digest.with_points(points[:kept], len(points) - kept)
    while kept > 1 and count_words(to_markdown(fitted)) > max_words:  # escapes, rounding
        kept -= 1
        fitted = digest.with_points(points[:kept], len(points) - kept)
    return fitted
