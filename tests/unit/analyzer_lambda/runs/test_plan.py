from __future__ import annotations

import pytest

from analyzer_lambda.runs.plan import plan_shards
from rivalscope_core.sites import site_of
from rivalscope_core.urls import parse_url_list, select_shard

LIST = """# competitors
https://www.acme.com/pricing
https://app.acme.com/plans   # the same site as www.acme.com
https://beta.co.uk/
https://gamma.io/a
https://gamma.io/b
"""


def test_n_is_the_parameter_but_never_more_than_the_lists_sites() -> None:
    plan = plan_shards(LIST, bucket="b", key="config/urls.txt", max_shards=8, run=None)
    assert plan.count == 3  # acme.com, beta.co.uk, gamma.io
    assert sum(plan.urls_per_shard) == 5
    two = plan_shards(LIST, bucket="b", key="config/urls.txt", max_shards=2, run=None)
    assert two.count == 2


def test_the_plan_names_the_run_its_shards_and_a_marker_and_splits_as_the_crawler_does() -> None:
    plan = plan_shards(
        LIST, bucket="b", key="config/urls.txt", max_shards=2, run="2026-11-23T22-19-03"
    ).to_dict()
    assert plan["run"] == "2026-11-23T22-19-03"
    assert plan["urls_file"] == "s3://b/config/urls.txt"
    assert [s["shard"] for s in plan["shards"]] == ["0/2", "1/2"]
    assert plan["marker_key"] == "raw/competitors/2026-11-23T22-19-03/_done/1of2.json"
    urls = parse_url_list(LIST)
    crawled = [select_shard(urls, i, 2, site_of=site_of) for i in range(2)]
    assert [s["urls"] for s in plan["shards"]] == [len(c) for c in crawled]
    for shard in crawled:  # no site in two shards
        others = {site_of(u) for c in crawled if c is not shard for u in c}
        assert not {site_of(u) for u in shard} & others


@pytest.mark.parametrize(
    ("text", "max_shards", "run", "message"),
    [
        ("", 2, None, "no URL given"),
        (LIST, 0, None, "max_shards"),
        (LIST, 2, "yesterday", "bad run"),
    ],
)
def test_a_bad_list_or_argument_is_a_value_error(
    text: str, max_shards: int, run: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan_shards(text, bucket="b", key="k", max_shards=max_shards, run=run)


def test_a_yaml_watch_list_is_planned_by_its_competitors_urls() -> None:
    watch = """competitors:
  - name: Acme
    urls: [https://www.acme.com/pricing, https://app.acme.com/plans]
  - name: Beta
    urls: [https://beta.co.uk/]
"""
    plan = plan_shards(watch, bucket="b", key="config/watchlist.yaml", max_shards=8)
    assert (plan.count, sum(plan.urls_per_shard)) == (2, 3)
    with pytest.raises(ValueError, match="competitors"):
        plan_shards("[]", bucket="b", key="config/watchlist.yaml", max_shards=2)


def test_a_competitors_sites_are_one_unit_and_the_crawlers_errors_name_the_entry() -> None:
    """Read by the crawler's own watch-list reader: the plan splits as the shard tasks will
    (a competitor's sites in one shard), whatever the key's name, and refuses what they
    would refuse."""
    watch = """competitors:
  - name: Acme
    urls: [https://acme.com/pricing, https://acme-app.io/plans]
  - name: Beta
    urls: [https://beta.co.uk/]
"""
    plan = plan_shards(watch, bucket="b", key="config/watchlist", max_shards=8)
    assert (plan.count, sorted(plan.urls_per_shard)) == (2, [1, 2])  # not 3 shards of 1
    bad = watch.replace("urls: [https://beta.co.uk/]", "url: [https://beta.co.uk/]")
    with pytest.raises(ValueError, match=r'competitors\[1\] "Beta": url: unknown field'):
        plan_shards(bad, bucket="b", key="config/watchlist.yaml", max_shards=2)
