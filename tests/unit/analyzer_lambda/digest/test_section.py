"""The digest at the head of report.html: escaped, linked only to http(s), in its language."""

from __future__ import annotations

from analyzer_lambda.digest.model import Digest, Point
from analyzer_lambda.digest.section import digest_section

COUNTS = {"changed": 1, "new": 0, "removed": 0, "failed": 0, "blocked": 0, "unchanged": 0,
          "pages": 1, "competitors": 1}  # fmt: skip


def _digest(*points: Point, language: str = "en", **fields: object) -> Digest:
    return Digest(run="r", state="changes", counts=COUNTS, points=points, language=language,
                  frame=language[:2], requested_language=language, **fields)  # type: ignore[arg-type]  # fmt: skip


def test_every_value_is_escaped_and_only_http_urls_are_links() -> None:
    html = digest_section(
        _digest(
            Point("high", '<img src=x onerror="alert(1)">', "https://a.example/?q=<b>",
                  "Price <script>alert(2)</script> up"),
            Point("low", "B", "javascript:alert(3)", "x"),
        )
    )  # fmt: skip
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "Price &lt;script&gt;alert(2)&lt;/script&gt; up" in html
    assert '<a href="https://a.example/?q=&lt;b&gt;"' in html
    assert "<code>javascript:alert(3)</code>" in html
    assert 'href="javascript' not in html
    assert html.index('class="dg-point high"') < html.index('class="dg-point low"')


def test_the_section_carries_the_points_language_and_japanese_labels() -> None:
    html = digest_section(_digest(Point("high", "花見", "https://h.example/", "値上げ"),
                                  language="ja-JP"))  # fmt: skip
    assert html.startswith('<section class="digest" lang="ja-JP"')
    assert '<h2 id="digest-title">ダイジェスト</h2>' in html
    assert '<span class="dg-importance">重要</span>' in html


def test_the_fallback_reason_is_escaped_too() -> None:
    html = digest_section(_digest(Point("high", "A", "https://a.example/", "s"),
                                  fallback="HTTP 400: <b>bad</b>"))  # fmt: skip
    assert "HTTP 400: &lt;b&gt;bad&lt;/b&gt;" in html
