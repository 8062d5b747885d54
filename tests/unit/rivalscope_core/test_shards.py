from __future__ import annotations

import random

import pytest

from rivalscope_core.urls import balance_units, parse_shard, select_shard

URLS = [f"https://site{n % 37}.example/page/{n}" for n in range(500)]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_url_is_crawled_by_exactly_one_of_n_shards(count: int) -> None:
    crawled = [url for index in range(count) for url in select_shard(URLS, index, count)]
    assert sorted(crawled) == sorted(URLS)
    assert len(crawled) == len(set(crawled))


def test_shards_are_balanced_enough_to_split_work() -> None:
    sizes = [len(select_shard(URLS, index, 4)) for index in range(4)]
    assert min(sizes) > 500 / 4 * 0.7


def test_every_task_computes_the_same_split_whatever_the_order_of_its_list() -> None:
    shuffled = URLS[:]
    random.Random(7).shuffle(shuffled)  # noqa: S311 - reproducible test data
    for index in range(3):
        assert set(select_shard(URLS, index, 3)) == set(select_shard(shuffled, index, 3))


def test_equal_sites_split_evenly_so_no_shard_is_the_run_s_long_pole() -> None:
    """Six sites of ten pages: a hash of the site names gave 10, 20 and 30 pages to three
    shards (bench.shards), and the run waited for the slowest."""
    urls = [f"https://site{s}.example/{n}" for s in range(6) for n in range(10)]
    for count in (2, 3, 6):
        assert {len(select_shard(urls, i, count)) for i in range(count)} == {60 // count}


def test_the_heaviest_units_are_spread_first() -> None:
    assert balance_units({"big": 9, "a": 3, "b": 3, "c": 3}, 2) == {
        "big": 0,
        **dict.fromkeys(("a", "b", "c"), 1),
    }


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


def _random_watchlist(rng: random.Random) -> tuple[list[str], dict[str, str]]:
    """URLs and their competitor (absent: a URL from ``-a urls``); competitors own one to four
    hosts, some share a site with another competitor, some URLs belong to nobody."""
    urls: list[str] = []
    owner: dict[str, str] = {}
    hosts = [f"h{n}.example" for n in range(rng.randint(3, 60))]
    for number in range(rng.randint(1, 25)):
        name = f"Competitor {number}"
        for host in rng.sample(hosts, rng.randint(1, min(4, len(hosts)))):
            for page in range(rng.randint(1, 3)):
                url = f"https://{rng.choice(['', 'app.', 'www.'])}{host}/{number}/{page}"
                if url not in owner:
                    urls.append(url)
                    owner[url] = name
    urls += [f"https://{rng.choice(hosts)}/loose/{page}" for page in range(rng.randint(0, 10))]
    return list(dict.fromkeys(urls)), owner


def _registrable(url: str) -> str:
    return ".".join(url.split("/")[2].split(".")[-2:])


@pytest.mark.parametrize("seed", range(200))
def test_a_watch_list_splits_by_competitor_and_every_url_is_crawled_once(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not cryptography
    urls, owner = _random_watchlist(rng)
    count = rng.randint(1, 8)
    shards = [
        select_shard(urls, i, count, site_of=_registrable, competitor_of=owner.get)
        for i in range(count)
    ]
    crawled = [url for shard in shards for url in shard]
    assert sorted(crawled) == sorted(urls)  # every URL, exactly once
    shard_of_competitor: dict[str, int] = {}
    shard_of_site: dict[str, int] = {}
    for index, shard in enumerate(shards):
        assert shard == [url for url in urls if url in set(shard)]  # the given order
        for url in shard:
            if url in owner:  # no competitor split across shards
                assert shard_of_competitor.setdefault(owner[url], index) == index
            # and no site either: politeness is per site, one task per site
            assert shard_of_site.setdefault(_registrable(url), index) == index


def test_a_watch_list_without_shared_sites_still_spreads_its_competitors() -> None:
    urls = [f"https://c{n}.example/{page}" for n in range(40) for page in range(3)]
    owner = {url: url.split("/")[2] for url in urls}
    sizes = [len(select_shard(urls, i, 4, competitor_of=owner.get)) for i in range(4)]
    assert min(sizes) > len(urls) / 4 * 0.5


def test_a_plain_list_shards_as_before_when_no_url_has_a_competitor() -> None:
    for index in range(3):
        assert select_shard(URLS, index, 3, competitor_of=lambda url: None) == select_shard(
            URLS, index, 3
        )
