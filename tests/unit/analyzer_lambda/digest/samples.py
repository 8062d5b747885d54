"""Change records of one plausible run (SPEC.md's ``changes.jsonl`` lines) and the page facts
the report knows: three competitors, one of each kind of change."""

from __future__ import annotations

from typing import Any

from analyzer_lambda.digest.rank import PageFacts

RUN = "2026-12-01T06-00-00"
PREVIOUS = {"run": "2026-11-24T06-00-00", "chunk": "s3://b/raw/c/2026-11-24T06-00-00/items"
            ".0000000.jl.gz", "line": 1, "crawled_at": "2026-11-24T06:00:03Z"}  # fmt: skip


def record(url: str, status: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"url": url, "status": status, "previous": PREVIOUS, "text": None,
                            "visual": None, "answer": None}  # fmt: skip
    return base | fields


WORDING = record(
    "https://acme.example/about", "changed",
    text={"added": ["We help 5,000 teams ship faster"], "removed": ["We help teams ship"]},
    visual={"changed_fraction": 0.02, "regions": [[0, 0, 10, 10]]},
)  # fmt: skip
PRICE = record(
    "https://acme.example/pricing", "changed",
    text={"added": ["Starter $59 per month"], "removed": ["Starter $49 per month"]},
    answer={"pricing[Starter].price": {"before": 49, "after": 59}},
)  # fmt: skip
PLAN = record(
    "https://northwind.example/plans", "changed",
    answer={"pricing[Enterprise]": {"before": None, "after": {"name": "Enterprise"}}},
)  # fmt: skip
CLAIM = record(
    "https://northwind.example/", "changed",
    answer={"claims": {"before": ["SOC 2", "Fast"], "after": ["Fast"], "removed": ["SOC 2"],
                       "added": []}},
)  # fmt: skip
TEXT_PRICE = record(
    "https://hanami.example/ja/pricing", "changed",
    text={"added": ["スタンダード 1,980円/月"], "removed": ["スタンダード 1,480円/月"]},
)  # fmt: skip
VISUAL = record(
    "https://hanami.example/", "changed", text={"added": [], "removed": []},
    visual={"changed_fraction": 0.125, "regions": [[0, 0, 1280, 80]]},
)  # fmt: skip
NEW = record("https://acme.example/security", "new", previous=None)
REMOVED = record("https://northwind.example/legacy", "removed")
BLOCKED = record("https://hanami.example/ja/company", "failed", previous=None)
FAILED = record("https://acme.example/careers", "failed", previous=None)
UNCHANGED = record("https://acme.example/", "unchanged")

RECORDS = [WORDING, UNCHANGED, BLOCKED, NEW, VISUAL, CLAIM, REMOVED, FAILED, TEXT_PRICE, PLAN,
           PRICE]  # fmt: skip

FACTS = {
    f.url: f
    for f in [
        PageFacts("https://acme.example/about", "Acme Analytics", "About Acme"),
        PageFacts("https://acme.example/pricing", "Acme Analytics", "Acme pricing"),
        PageFacts("https://acme.example/security", "Acme Analytics", "Security"),
        PageFacts("https://acme.example/careers", "Acme Analytics", None, "timeout"),
        PageFacts("https://acme.example/", "Acme Analytics", "Acme"),
        PageFacts("https://northwind.example/plans", "Northwind Metrics", "Plans"),
        PageFacts("https://northwind.example/", "Northwind Metrics", "Northwind"),
        PageFacts("https://hanami.example/ja/pricing", "花見クラウド", "料金"),
        PageFacts("https://hanami.example/", "花見クラウド", "花見クラウド"),
        PageFacts("https://hanami.example/ja/company", "花見クラウド", None, "blocked_by_site"),
    ]
}
