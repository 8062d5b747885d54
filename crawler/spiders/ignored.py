"""Which elements of a page the crawl measures for the visual diff (SPEC.md, Changes): the
``ignore_selectors`` of the ``CHANGE_RULES`` setting (from the environment variable, read in
``crawler/settings.py``) for the page's site, merged with its competitor's ``change_rules`` from
the watch list. The render flow records those elements' screen boxes right before the
screenshot (``crawler/browser/page.py``), and the analyser masks them.

The file format is ``rivalscope_core.change_rules``'s, the analyser's too. This is its I/O edge
on the crawler's side: the file, an ``s3://`` URI or NAME (``s3://BUCKET/config/NAME.yaml``),
read once when the crawl starts; a bad one is a ``BadArgumentError`` (exit 2 before any browser
starts) naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.spiders.arguments import BadArgumentError, load_url_text
from crawler.spiders.targets import check_css_selector
from rivalscope_core.change_rules import (
    ChangeRulesError,
    parse_site_rules,
    rules_for,
    rules_location,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rivalscope_core.change_rules import ChangeRules
    from rivalscope_core.watchlist import Competitor


@dataclass(frozen=True)
class IgnoreRules:
    """CHANGE_RULES by site, as the crawl needs them."""

    by_site: Mapping[str, ChangeRules] = field(default_factory=dict)

    def selectors(self, url: str, competitor: Competitor | None) -> tuple[str, ...]:
        """The ``ignore_selectors`` that apply to ``url`` of ``competitor`` (None: no
        competitor): ``*``, its sites, then the competitor's, without repeats."""
        own = competitor.change_rules if competitor is not None else None
        return rules_for(self.by_site, url, own).ignore_selectors


def load_ignore_rules(ref: str | None, bucket: str | None, s3_client: Any = None) -> IgnoreRules:
    """``CHANGE_RULES`` read and checked; None or empty: no rules. Blocking."""
    if not ref or not str(ref).strip():
        return IgnoreRules()
    ref = str(ref).strip()
    try:
        where = rules_location(ref, bucket, is_file=lambda path: Path(path).is_file())
        text = load_url_text(where, s3_client, argument="CHANGE_RULES")
        return IgnoreRules(
            parse_site_rules(text, f"CHANGE_RULES ({ref})", check_selector=check_css_selector)
        )
    except ChangeRulesError as exc:
        raise BadArgumentError(str(exc)) from exc
