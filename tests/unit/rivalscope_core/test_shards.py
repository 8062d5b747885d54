from __future__ import annotations

import pytest

from rivalscope_core.urls import parse_shard, select_shard, shard_of

URLS = [f"https://site{n % 37}.example/page/{n}" for n in range(500)]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_url_is_crawled_by_exactly_one_of_n_shards(count: int) -> None:
    crawled = [url for index in range(count) for url in select_shard(URLS, index, count)]
    assert sorted(crawled) == sorted(URLS)
    assert len(crawled) == len(set(crawled))


def test_shards_are_balanced_enough_to_split_work() -> None:
    sizes = [len(select_shard(URLS, index, 4)) for index in range(4)]
    assert min(sizes) > 500 / 4 * 0.7


def test_the_shard_of_a_site_is_stable_across_processes() -> None:
    # a fixed value: the hash must be the same in every process and on every machine
    assert shard_of("a.example", 1000) == 2


def test_every_url_of_a_site_goes_to_one_shard() -> None:
    """Two tasks must never crawl one site at once: that would defeat the per-site delay."""
    for index in range(4):
        sites = {url.split("/")[2] for url in select_shard(URLS, index, 4)}
        for other in range(4):
            if other != index:
                assert not sites & {url.split("/")[2] for url in select_shard(URLS, other, 4)}


def test_the_crawler_can_group_by_registrable_domain() -> None:
    urls = ["https://www.a.example/", "https://shop.a.example/", "https://b.example/"]

    def registrable(url: str) -> str:
        return url.split("/")[2].split(".", 1)[-1] if url.count(".") > 1 else url.split("/")[2]

    for index in range(2):
        grouped = select_shard(urls, index, 2, site_of=registrable)
        assert ("https://www.a.example/" in grouped) == ("https://shop.a.example/" in grouped)


def test_select_keeps_the_given_order() -> None:
    chosen = select_shard(URLS, 1, 3)
    assert chosen == [url for url in URLS if url in set(chosen)]


@pytest.mark.parametrize("text", ["", "1", "1/1", "-1/2", "a/b", "0/0", "2/2", "0/-3"])
def test_bad_shards_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="use I/N"):
        parse_shard(text)


def test_shard_parses() -> None:
    assert parse_shard("2/5") == (2, 5)
