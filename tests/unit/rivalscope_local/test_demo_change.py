"""``make run DEMO_CHANGE=1``: every change of ``demo/changes.yaml`` applies to the bundled demo
pages as they are, and changes exactly what it says."""

from __future__ import annotations

import pytest

from rivalscope_local.demo import DEMO_ROOT
from rivalscope_local.demo_change import (
    DEMO_CHANGES,
    DemoChangeError,
    edited_pages,
    load_changes,
    parse_changes,
    select_changes,
)


def test_every_demo_change_applies_to_the_demo_pages_once() -> None:
    changes = load_changes("1")
    assert [c.name for c in changes] == [
        "acme-price", "northwind-plan", "acme-claim", "northwind-banner",
    ]  # fmt: skip
    pages = edited_pages(DEMO_ROOT, changes)
    for change in changes:
        original = (DEMO_ROOT / change.site / change.page).read_text("utf-8")
        path = "/" if change.page == "index.html" else f"/{change.page}"
        edited = pages[(change.site, path)].decode("utf-8")
        assert edited != original
        assert change.replace in edited
    assert pages[("acme", "/")] == pages[("acme", "/index.html")]  # the home page both ways
    assert set(pages) == {
        ("acme", "/pricing.html"), ("northwind", "/pricing.html"),
        ("acme", "/"), ("acme", "/index.html"), ("northwind", "/"), ("northwind", "/index.html"),
    }  # fmt: skip


def test_one_price_is_one_edit_of_one_page() -> None:
    pages = edited_pages(DEMO_ROOT, load_changes("acme-price"))
    assert list(pages) == [("acme", "/pricing.html")]
    original = (DEMO_ROOT / "acme" / "pricing.html").read_text("utf-8")
    edited = pages[("acme", "/pricing.html")].decode("utf-8")
    assert edited == original.replace('<p class="price">$49</p>', '<p class="price">$59</p>', 1)


@pytest.mark.parametrize("value", ["", "0", "no", None])
def test_no_demo_change_by_default(value: str | None) -> None:
    assert load_changes(value) == []


def test_an_unknown_change_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(DemoChangeError, match=r"no demo change acme-prize .*acme-price"):
        select_changes("acme-prize", parse_changes(DEMO_CHANGES.read_text("utf-8")))


def test_a_find_text_that_no_longer_occurs_once_names_the_change() -> None:
    changes = parse_changes(
        "gone:\n  what: x\n  page: acme/pricing.html\n  find: '$12345'\n  replace: y\n"
    )
    with pytest.raises(DemoChangeError, match=r"'gone'.*occurs 0 times in acme/pricing\.html"):
        edited_pages(DEMO_ROOT, changes)


def test_a_change_without_its_fields_is_refused() -> None:
    with pytest.raises(DemoChangeError, match=r"broken: needs the text fields"):
        parse_changes("broken: {page: acme/pricing.html}")
