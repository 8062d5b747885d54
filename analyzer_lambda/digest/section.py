"""The digest at the head of ``report.html`` (``ReportSections.digest``), rendered from the
structured points rather than from the Markdown: no Markdown renderer to configure, and every
value — competitor names, page text, the model's sentences — goes through ``html.escape``. A
page's URL becomes a link only when it is http(s). Pure."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from analyzer_lambda.digest.markdown import footer, headline
from analyzer_lambda.digest.phrases import phrase

if TYPE_CHECKING:
    from analyzer_lambda.digest.model import Digest, Point

_LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_TITLES = {"en": "Digest", "ja": "ダイジェスト"}


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _page(url: str) -> str:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return f"<code>{_esc(url)}</code>"
    return (
        f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{_esc(url)}</a>'
    )


def _point(point: Point, frame: str) -> str:
    return (
        f'<li class="dg-point {_esc(point.importance)}">'
        f'<span class="dg-importance">{_esc(phrase(frame, point.importance))}</span> '
        f'<b class="dg-competitor">{_esc(point.competitor)}</b> — '
        f'<span class="dg-summary">{_esc(point.summary)}</span>'
        f'<span class="dg-page">{_page(point.url)}</span></li>'
    )


def digest_section(digest: Digest) -> str:
    """The ``<section>``; its ``lang`` is the points' language so screen readers and fonts
    pick the right one (Japanese glyphs differ from Chinese ones)."""
    lang = f' lang="{_esc(digest.language)}"' if _LANG.match(digest.language) else ""
    parts = [
        f'<section class="digest"{lang} aria-labelledby="digest-title">',
        f'<h2 id="digest-title">{_esc(_TITLES.get(digest.frame, "Digest"))}</h2>',
        f'<p class="dg-headline">{_esc(headline(digest))}</p>',
    ]
    if digest.points:
        parts.append(
            '<ul class="dg-points">'
            + "".join(_point(p, digest.frame) for p in digest.points)
            + "</ul>"
        )
    if digest.omitted:
        more = phrase(digest.frame, "more", n=digest.omitted)
        parts.append(f'<p class="dg-more">{_esc(more)}</p>')
    if digest.state == "changes" or digest.points:
        parts += [f'<p class="dg-provenance">{_esc(line)}</p>' for line in footer(digest)]
    parts.append("</section>")
    return "\n".join(parts)
