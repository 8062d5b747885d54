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


def test_the_shard_of_a_url_is_stable_and_ignores_spelling() -> None:
    # a fixed value: the hash must be the same in every process and on every machine
    assert shard_of("https://a.example/pricing", 1000) == shard_of(
        "HTTPS://A.EXAMPLE/pricing", 1000
    )
    assert shard_of("https://a.example/pricing", 1000) == 71


def test_select_keeps_the_given_order() -> None:
    chosen = select_shard(URLS, 1, 3)
    assert chosen == [url for url in URLS if url in set(chosen)]


@pytest.mark.parametrize("text", ["", "1", "1/1", "-1/2", "a/b", "0/0", "2/2", "0/-3"])
def test_bad_shards_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="use I/N"):
        parse_shard(text)


def test_shard_parses() -> None:
    assert parse_shard("2/5") == (2, 5)
