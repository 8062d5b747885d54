"""The What changed section from plain values: changed pages first with their answer fields,
text and crops; the rest counted and collapsed; untrusted text escaped; the first capture."""

from __future__ import annotations

import re

from analyzer_lambda.changes.text_diff import diff_text
from analyzer_lambda.report.change_model import ChangeShots, CropPair, PageChange, RunChanges
from analyzer_lambda.report.changes_section import MAX_OPEN, render_changes_section
from analyzer_lambda.report.compose import build_sections
from analyzer_lambda.report.html import render_report
from analyzer_lambda.report.rows import ReportRow, build_rows
from tests.unit.analyzer_lambda.report.samples import CHUNK, EVIL, META, make_page, make_result

PREVIOUS = {"run": "2026-11-16T21-40-00", "chunk": "s3://b/raw/x", "line": 1,
            "crawled_at": "2026-11-16T21:40:00.000000Z"}  # fmt: skip


def _record(url: str, status: str, **kw: object) -> dict[str, object]:
    return {"url": url, "status": status, "previous": PREVIOUS if status != "new" else None,
            "text": None, "visual": None, "answer": None, **kw}  # fmt: skip


def _rows() -> list[ReportRow]:
    names = ["pricing", "blog", "new", "about", "jobs"]
    pages = [make_page(i, f"https://acme.example/{name}") for i, name in enumerate(names, 1)]
    results = [
        make_result(1, "https://acme.example/pricing", {"title": "Acme pricing"}),
        make_result(2, "https://acme.example/blog", {"title": EVIL, "language": "ja"}),
    ]
    return build_rows(pages, results)


def _changes() -> RunChanges:
    price = diff_text("Acme\nStarter $49 per month\nOld footer", "Acme\nStarter $59 per month")
    evil = diff_text("hello", f"hello\n{EVIL}")
    shots = ChangeShots((CropPair("changes/a-1.before.jpg", "changes/a-1.after.jpg", cut=True),),
                        more=2, before_full="changes/a.before.png")  # fmt: skip
    summary = ("Acme sells dashboards to small teams.", "Acme sells dashboards to large teams.")
    answer = {"pricing[Starter].price": {"before": 49, "after": 59},
              "pricing[Enterprise]": {"before": None, "after": {"plan": "Enterprise",
                                                                 "price": "$899"}},
              "summary": {"before": summary[0] * 2, "after": summary[1] * 2},
              "notable_claims": {"before": ["a"], "after": ["b"], "removed": ["Fast"],
                                 "added": [EVIL]}}  # fmt: skip
    pages = (
        PageChange(_record("https://acme.example/blog", "changed", text=evil.to_record()),
                   CHUNK, 2, evil),
        PageChange(_record("https://acme.example/pricing", "changed", answer=answer,
                           text=price.to_record(),
                           visual={"changed_fraction": 0.0123, "regions": [[0, 0, 10, 10]]}),
                   CHUNK, 1, price, shots),
        PageChange(_record("https://acme.example/new", "new"), CHUNK, 3),
        PageChange(_record("https://acme.example/about", "unchanged"), CHUNK, 4),
        PageChange(_record("https://acme.example/jobs", "failed"), CHUNK, 5),
        PageChange(_record(f"https://acme.example/gone?{EVIL}", "removed")),
    )  # fmt: skip
    return RunChanges(pages, compared_with="2026-11-16T21-40-00")


def test_changed_pages_come_first_with_what_changed_in_them() -> None:
    html = render_changes_section(_changes(), _rows(), lambda p: p)
    articles = re.findall(r'<article class="change".*?</article>', html, re.DOTALL)
    assert len(articles) == 2
    pricing = articles[0]  # an answer change ranks before a text-only change
    assert "Acme pricing" in pricing
    assert '<del class="val">49</del>' in pricing
    assert '<ins class="val">59</ins>' in pricing
    assert "pricing[Starter].price" in pricing
    # a plan that appeared: nothing before it, the plan on one line after it
    assert ('<span class="none">none</span> <span class="arrow" aria-label="became">→</span> '
            '<ins class="val">plan: Enterprise; price: $899</ins>') in pricing  # fmt: skip
    assert '<del class="val">Fast</del>' in pricing  # a dropped claim stands out
    assert "to <del>small</del><ins>large</ins> teams" in pricing  # long texts: by words
    # the edited line with its words marked, the line that went away as removed
    assert "Starter $<del>49</del><ins>59</ins> per month" in pricing
    assert '<li class="del"><span class="sign">−</span><del>Old footer</del></li>' in pricing
    assert 'src="changes/a-1.before.jpg"' in pricing
    assert 'src="changes/a-1.after.jpg"' in pricing
    assert 'href="changes/a.before.png"' in pricing  # the previous full capture, a click away
    assert 'href="screenshots/items.0000000-1.png"' in pricing  # this one: the card's file
    assert "its top is shown" in pricing
    assert "2 more changed area(s)" in pricing
    assert "1.2 % of the screenshot" in pricing
    assert 'href="#page-items.0000000-1"' in pricing
    assert html.index("What changed") < html.index('<article class="change"')


def test_the_other_pages_are_counted_and_collapsed() -> None:
    html = render_changes_section(_changes(), _rows(), lambda p: p)
    for count, label in ((1, "new page"), (1, "removed page"), (1, "failed page"),
                         (1, "unchanged page")):  # fmt: skip
        assert f"<summary><b>{count}</b> {label}</summary>" in html
    assert html.rindex("<details") > html.rindex('<article class="change"')
    assert '<div class="stat ch-changed"><b>2</b>changed</div>' in html


def test_untrusted_text_is_escaped() -> None:
    html = render_changes_section(_changes(), _rows(), lambda p: p)
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'lang="ja"' in html


def test_the_first_run_says_first_capture_instead_of_empty_diffs() -> None:
    first = RunChanges(tuple(PageChange(_record(f"https://a.example/{i}", "new"), CHUNK, i)
                             for i in range(3)))  # fmt: skip
    html = render_changes_section(first, [], lambda p: p)
    assert "First capture." in html
    assert "3 page(s) captured" in html
    assert "<details" not in html


def test_no_comparison_means_no_section_and_uploaded_crops_are_presigned() -> None:
    rows = _rows()
    assert 'id="what-changed"' not in render_report(
        rows, META, sections=build_sections(rows, None, None)
    )
    sections = build_sections(rows, _changes(), None)
    page = render_report(rows, META, asset_url=lambda p: f"https://s3.example/{p}?sig=1",
                         sections=sections)  # fmt: skip
    assert 'src="https://s3.example/changes/a-1.after.jpg?sig=1"' in page
    # What changed opens the page, before the summary and the cards
    assert page.index('id="what-changed"') < page.index('class="summary"')


def test_many_changed_pages_show_the_first_ones_open_and_collapse_the_rest() -> None:
    edit = diff_text("Starter $49", "Starter $59")
    pages = tuple(
        PageChange(_record(f"https://a.example/{i}", "changed", text=edit.to_record()),
                   CHUNK, i, edit)
        for i in range(MAX_OPEN + 3)
    )  # fmt: skip
    html = render_changes_section(RunChanges(pages, "2026-11-16T21-40-00"), [], lambda p: p)
    assert html.count('<article class="change"') == MAX_OPEN + 3
    assert "<summary><b>3</b> more changed pages</summary>" in html
    assert html.index("more changed pages") > html.index("https://a.example/0")


def test_against_names_the_run_compared_with() -> None:
    changes = RunChanges(_changes().pages, "2026-11-16T21-40-00", against="2026-10-01T00-00-00")
    html = render_changes_section(changes, _rows(), lambda p: p)
    assert "Compared with run <code>2026-10-01T00-00-00</code> (--against)" in html


def test_a_price_change_ranks_before_other_answer_changes() -> None:
    count = {"word_count": {"before": 180, "after": 181}}
    price = {"pricing[Starter].price": {"before": "$49", "after": "$59"}}
    pages = (
        PageChange(_record("https://acme.example/pricing", "changed", answer=count), CHUNK, 1),
        PageChange(_record("https://acme.example/blog", "changed", answer=price), CHUNK, 2),
    )
    html = render_changes_section(RunChanges(pages, "2026-11-16T21-40-00"), _rows(), str)
    assert html.index("https://acme.example/blog") < html.index("https://acme.example/pricing")


def test_a_long_edited_paragraph_keeps_the_change_and_its_context_only() -> None:
    words = "word " * 200
    edit = diff_text(
        f"{words}Starter $49 per month. {words}", f"{words}Starter $59 per month. {words}"
    )
    page = PageChange(
        _record("https://a.example/", "changed", text=edit.to_record()), CHUNK, 1, edit
    )
    html = render_changes_section(RunChanges((page,), "2026-11-16T21-40-00"), [], str)
    assert "<del>49</del><ins>59</ins>" in html
    assert len(html) < 4000  # not the 2,000 characters around it twice
    assert "… word" in html
