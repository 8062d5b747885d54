from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from crawler.spiders.arguments import BadArgumentError, CrawlArguments, load_url_text
from crawler.spiders.competitors import CompetitorsSpider

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no URL given"),
        ({"urls": ""}, "no URL given"),
        ({"urls": " , "}, "no URL given"),
        ({"urls": "example.com/pricing"}, "needs a scheme"),
        ({"urls": "ftp://a.example/"}, "only http:// and https://"),
        ({"urls": "https://"}, "no valid host"),
        ({"urls": "https://a.example/", "max_pages": "0"}, "bad max_pages"),
        ({"urls": "https://a.example/", "max_pages": "ten"}, "bad max_pages"),
        ({"urls": "https://a.example/", "shard": "3/3"}, "bad shard"),
        ({"urls": "https://a.example/", "render": "maybe"}, "bad render"),
        ({"url": "https://a.example/"}, "unknown spider argument"),
    ],
)
def test_bad_arguments_name_what_to_fix(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(BadArgumentError, match=message):
        CompetitorsSpider.validate_arguments(kwargs)


def test_unreadable_urls_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(BadArgumentError, match="cannot read urls_file"):
        CompetitorsSpider.validate_arguments({"urls_file": str(tmp_path / "missing.txt")})


def test_urls_file_with_comments_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text(
        "# competitors\nhttps://a.example/pricing  # theirs\n\nhttps://A.example/pricing\n"
    )
    args = CrawlArguments.parse({"urls_file": str(path), "urls": "https://b.example"})
    assert args.start_urls(load_url_text(str(path))) == [
        "https://b.example/",
        "https://a.example/pricing",
    ]


def test_defaults() -> None:
    args = CrawlArguments.parse({"urls": "https://a.example"})
    assert (args.max_pages, args.shard, args.prompt, args.render) == (1, (0, 1), None, None)


def test_shards_split_the_start_urls() -> None:
    urls = ",".join(f"https://a.example/{n}" for n in range(20))
    parts = [
        CrawlArguments.parse({"urls": urls, "shard": f"{i}/3"}).start_urls(None) for i in range(3)
    ]
    assert sorted(u for part in parts for u in part) == sorted(
        CrawlArguments.parse({"urls": urls}).start_urls(None)
    )
