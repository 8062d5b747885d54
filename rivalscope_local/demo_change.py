"""``make run DEMO_CHANGE=1``: the demo sites with a few real-looking edits (``demo/changes.yaml``:
a price, a new plan, a reworded claim, a banner on top of a tall page), so that a new user's
second run shows what a change report looks like without editing anything (issue #12).

The files under ``demo/site/`` stay as they are: the demo server answers an edited copy of each
changed page (``DemoSites(changes=...)``). Pure: YAML text and page bytes in, edited bytes out.
A ``find`` that does not occur exactly once is an error naming the change, so a later edit of a
demo page cannot silently turn a change into none (the unit tests apply every change).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Iterable

DEMO_CHANGES = Path(__file__).resolve().parents[1] / "demo" / "changes.yaml"
_FIELDS = ("what", "page", "find", "replace")
_ALL = frozenset(("1", "all", "yes", "true"))
_NONE = frozenset(("", "0", "no", "false"))


class DemoChangeError(ValueError):
    """A bad ``DEMO_CHANGE`` value or ``demo/changes.yaml``; the message names what to fix."""


@dataclass(frozen=True)
class DemoChange:
    name: str
    what: str  # one line for the console: what a user should find in the report
    site: str  # the folder under demo/site/
    page: str  # the file in it
    find: str
    replace: str

    def apply(self, html: str) -> str:
        count = html.count(self.find)
        if count != 1:
            raise DemoChangeError(
                f"demo change {self.name!r}: its find text occurs {count} times in "
                f"{self.site}/{self.page} (it must occur once): update demo/changes.yaml"
            )
        return html.replace(self.find, self.replace)


def parse_changes(text: str, source: str = "demo/changes.yaml") -> list[DemoChange]:
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise DemoChangeError(f"{source}: expected a mapping of change name → change")
    return [_change(str(name), entry, source) for name, entry in data.items()]


def _change(name: str, entry: Any, source: str) -> DemoChange:
    if not isinstance(entry, dict) or any(not isinstance(entry.get(f), str) for f in _FIELDS):
        raise DemoChangeError(f"{source}: {name}: needs the text fields {', '.join(_FIELDS)}")
    site, _, page = str(entry["page"]).partition("/")
    if not site or not page or "/" in page:
        raise DemoChangeError(f"{source}: {name}: page must be SITE/FILE, like acme/pricing.html")
    return DemoChange(name, entry["what"], site, page, entry["find"], entry["replace"])


def select_changes(value: str | None, changes: Iterable[DemoChange]) -> list[DemoChange]:
    """The changes ``DEMO_CHANGE`` asks for: ``1`` (or ``all``) every one, ``0`` or nothing
    none, else comma-separated names."""
    available = list(changes)
    wanted = (value or "").strip().lower()
    if wanted in _NONE:
        return []
    if wanted in _ALL:
        return available
    by_name = {change.name: change for change in available}
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise DemoChangeError(
            f"DEMO_CHANGE={value}: no demo change {', '.join(unknown)} "
            f"(known: 1 for all, or {', '.join(by_name)})"
        )
    return [by_name[name] for name in dict.fromkeys(names)]


def load_changes(value: str | None, path: Path = DEMO_CHANGES) -> list[DemoChange]:
    """``select_changes`` over the bundled ``demo/changes.yaml``."""
    if (value or "").strip().lower() in _NONE:
        return []
    return select_changes(value, parse_changes(path.read_text("utf-8"), str(path)))


def page_paths(page: str) -> tuple[str, ...]:
    """The URL paths a page file answers: ``index.html`` is the site's ``/`` too."""
    return ("/", "/index.html") if page == "index.html" else (f"/{page}",)


def edited_pages(root: Path, changes: Iterable[DemoChange]) -> dict[tuple[str, str], bytes]:
    """(site, URL path) → the edited page, for every page a change touches (several changes of
    one page applied in order)."""
    pages: dict[tuple[str, str], str] = {}
    for change in changes:
        key = (change.site, change.page)
        if key not in pages:
            file = root / change.site / change.page
            if not file.is_file():
                raise DemoChangeError(f"demo change {change.name!r}: no page {file}")
            pages[key] = file.read_text("utf-8")
        pages[key] = change.apply(pages[key])
    by_path: dict[tuple[str, str], bytes] = {}
    for (site, page), html in pages.items():
        for path in page_paths(page):
            by_path[(site, path)] = html.encode("utf-8")
    return by_path
