"""The watch list's parser: what a valid file gives, and that every mistake names the file, the
entry and the field (SPEC.md, "Watch list")."""

from __future__ import annotations

import pytest

from crawler.spiders.targets import check_css_selector
from rivalscope_core.change_rules import ChangeRules
from rivalscope_core.watchlist import WatchListError, parse_watchlist

SOURCE = "demo/watchlist.yaml"

VALID = """
competitors:
  - name: Acme Analytics
    urls: [https://Acme.example/pricing, https://app.acme.example/plans]
    max_pages: 3
    prompt: pricing
    change_rules:
      ignore_text: ["^Trusted by [0-9,]+ teams"]
      ignore_selectors: ["#cookie-banner", "footer .year"]
  - name: 花見クラウド
    urls: https://hanami.example/
"""


def _parse(text: str) -> object:
    return parse_watchlist(text, SOURCE, check_selector=check_css_selector)


def test_a_valid_watch_list() -> None:
    watchlist = parse_watchlist(VALID, SOURCE, check_selector=check_css_selector)
    acme, hanami = watchlist.competitors
    assert acme.name == "Acme Analytics"
    assert acme.urls == ("https://acme.example/pricing", "https://app.acme.example/plans")
    assert (acme.max_pages, acme.prompt) == (3, "pricing")
    assert acme.change_rules == ChangeRules(
        ("^Trusted by [0-9,]+ teams",), ("#cookie-banner", "footer .year")
    )
    assert hanami.name == "花見クラウド"
    assert (hanami.urls, hanami.max_pages, hanami.prompt, hanami.change_rules) == (
        ("https://hanami.example/",),
        None,
        None,
        None,
    )
    assert watchlist.competitor_of("https://app.acme.example/plans") is acme
    assert watchlist.competitor_of("https://other.example/") is None
    assert watchlist.urls == [*acme.urls, *hanami.urls]


def test_it_round_trips_through_yaml_with_japanese_names_intact() -> None:
    watchlist = parse_watchlist(VALID, SOURCE)
    text = watchlist.to_yaml()
    assert "花見クラウド" in text
    assert parse_watchlist(text, "copy.yaml").competitors == watchlist.competitors


def test_a_plain_url_list_keeps_working() -> None:
    watchlist = parse_watchlist("# ours\nhttps://a.example/\nhttps://b.example/x  # b\n", SOURCE)
    assert watchlist.competitors == ()
    assert watchlist.urls == ["https://a.example/", "https://b.example/x"]
    assert watchlist.competitor_of("https://a.example/") is None
    # a comment between two URLs makes it invalid YAML: still a URL list
    between = parse_watchlist("https://a.example/  # a\nhttps://b.example/\n", SOURCE)
    assert between.urls == ["https://a.example/", "https://b.example/"]
    with pytest.raises(WatchListError, match="not valid YAML"):
        parse_watchlist("competitors:\n  - name: A\n urls: [https://a.example/]\n", SOURCE)


def test_urls_given_beside_it_belong_to_no_competitor() -> None:
    watchlist = parse_watchlist(VALID, SOURCE).with_urls(
        ["https://extra.example/", "https://hanami.example/"]
    )
    assert watchlist.urls[-1] == "https://extra.example/"
    assert watchlist.urls.count("https://hanami.example/") == 1
    assert watchlist.competitor_of("https://hanami.example/") is not None


def _entry(**fields: str) -> str:
    lines = ["competitors:", "  - name: Acme", "    urls: [https://acme.example/]"]
    lines += ["  - name: Northwind"]
    lines += [f"    {k}: {v}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_entry(urls="[]"), 'competitors[1] "Northwind": urls: must not be empty'),
        ("competitors:\n  - name: Northwind\n", 'competitors[0] "Northwind": urls: must not be'),
        (
            _entry(urls="[https://n.example/]", homepage="https://n.example/"),
            'competitors[1] "Northwind": homepage: unknown field (known: name, urls,',
        ),
        (
            (
                "competitors:\n  - name: Acme\n    urls: [https://a.example/]\n"
                "  - name: acme\n    urls: [https://b.example/]\n"
            ),
            'competitors[1] "acme": name: duplicate of competitors[0]',
        ),
        (
            _entry(urls="[https://ACME.example/]"),
            (
                'competitors[1] "Northwind": urls: https://acme.example/ is already listed under '
                '"Acme"'
            ),
        ),
        (_entry(urls="[acme.example/]"), 'competitors[1] "Northwind": urls: malformed URL'),
        (_entry(urls="[https://n.example/]", max_pages="0"), '"Northwind": max_pages: a whole'),
        (_entry(urls="[https://n.example/]", max_pages="two"), '"Northwind": max_pages: a whole'),
        (_entry(urls="[https://n.example/]", prompt="''"), '"Northwind": prompt: expected a'),
        (
            _entry(urls="[https://n.example/]", change_rules="{ignore_text: ['([a-z']}"),
            "\"Northwind\": change_rules, ignore_text: bad regular expression '([a-z'",
        ),
        (
            _entry(urls="[https://n.example/]", change_rules="{ignore_selectors: ['div[']}"),
            "\"Northwind\": change_rules, ignore_selectors: bad CSS selector 'div['",
        ),
        (
            _entry(urls="[https://n.example/]", change_rules="{ignore_html: [x]}"),
            '"Northwind": change_rules: unknown field ignore_html',
        ),
        ("competitors:\n  - urls: [https://a.example/]\n", "competitors[0]: name: required"),
        ("competitor:\n  - name: A\n", "competitor: unknown field (known: competitors)"),
        ("competitors: []\n", "competitors: must be a non-empty list"),
        ("competitors:\n  - [https://a.example/]\n", "competitors[0]: expected a mapping"),
        ("competitors: [\n", "not valid YAML: line 2, column 1: expected the node content"),
        (
            "competitors:\n  - name: A\n    urls: [https://a.example/]\n    urls: []\n",
            "not valid YAML: line 4, column 5: urls: given twice in one entry",
        ),
        ("- https://a.example/\n", "expected a mapping with 'competitors:'"),
        ("hello world\n", "neither a watch list"),
    ],
)
def test_every_mistake_names_the_entry_and_the_field(text: str, message: str) -> None:
    with pytest.raises(WatchListError) as raised:
        _parse(text)
    assert str(raised.value).startswith(f"watchlist {SOURCE}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_yaml_is_read_safely() -> None:
    with pytest.raises(WatchListError, match="not valid YAML"):
        _parse("competitors: !!python/object/apply:os.system ['true']\n")
