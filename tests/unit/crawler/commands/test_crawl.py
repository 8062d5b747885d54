from __future__ import annotations

from typing import Any

import pytest

from crawler.commands.crawl import check_settings, crawl_exit_code
from crawler.pipelines import UploadConfig
from crawler.politeness.crawl_delay import CrawlDelayConfig
from crawler.stop import StopConfig
from rivalscope_core.keys import is_raw_chunk_key, with_shard
from tests.project_settings import project_settings


def _stats(**values: Any) -> dict[str, Any]:
    base = {
        "s3pipeline/items_stored": 3,
        "item_scraped_count": 3,
        "finish_reason": "finished",
    }
    return base | {k.replace("__", "/"): v for k, v in values.items()}


@pytest.mark.parametrize(
    ("stats", "code"),
    [
        (_stats(), 0),
        (_stats(rivalscope__pages__failed=1), 1),
        (_stats(s3pipeline__items_spilled=2, item_scraped_count=5), 1),
        (_stats(s3pipeline__items_stored=0, item_scraped_count=0), 1),
        (_stats(finish_reason="shutdown"), 1),
        (_stats(item_scraped_count=4), 1),  # an item neither stored nor spilled
    ],
)
def test_exit_codes(stats: dict[str, Any], code: int) -> None:
    assert crawl_exit_code(stats)[0] == code


def test_no_page_stored_says_so() -> None:
    assert "no page stored" in crawl_exit_code({"finish_reason": "finished"})[1]


def test_crawl_delay_is_used_only_when_longer_and_is_capped() -> None:
    config = CrawlDelayConfig.from_settings(
        project_settings(ROBOTSTXT_OBEY=True, DOWNLOAD_DELAY=1.0, ROBOTSTXT_CRAWL_DELAY_MAX=10)
    )
    assert [config.effective(d) for d in (None, 0.5, 1.0, 2.5, 600)] == [None, None, None, 2.5, 10]


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"S3PIPELINE_UPLOAD_RETRIES": -1}, "S3PIPELINE_UPLOAD_RETRIES"),
        ({"S3PIPELINE_RETRY_BACKOFF": -1}, "S3PIPELINE_RETRY_BACKOFF"),
        ({"S3PIPELINE_MAX_WAIT_UPLOAD_TIME": 0}, "S3PIPELINE_MAX_WAIT_UPLOAD_TIME"),
        ({"S3PIPELINE_SPILL_DIR": ""}, "S3PIPELINE_SPILL_DIR"),
        ({"S3PIPELINE_URL": "gs://b/k"}, "S3PIPELINE_URL"),
    ],
)
def test_bad_pipeline_settings_name_the_setting(settings: dict[str, Any], name: str) -> None:
    base = {"S3PIPELINE_URL": "s3://b/raw/{name}/{time}/items.{chunk:07d}.jl.gz"}
    with pytest.raises(ValueError, match=name):
        UploadConfig.from_settings(project_settings(**(base | settings)))


def test_stop_grace_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="RIVALSCOPE_STOP_GRACE"):
        StopConfig.from_settings(project_settings(RIVALSCOPE_STOP_GRACE=-1))


@pytest.mark.parametrize(
    ("key", "label", "expected"),
    [
        ("raw/c/t/items.0000020.jl.gz", "", "raw/c/t/items.0000020.jl.gz"),
        ("raw/c/t/items.0000020.jl.gz", "shard1of4", "raw/c/t/items.0000020.shard1of4.jl.gz"),
        ("raw/c/t/items.0000020.jl", "shard0of2", "raw/c/t/items.0000020.shard0of2.jl"),
    ],
)
def test_sharded_crawls_get_distinct_chunk_keys(key: str, label: str, expected: str) -> None:
    assert with_shard(key, label) == expected
    assert is_raw_chunk_key(with_shard(key, label))


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("ALLOW_PRIVATE_ADDRESSES", "10.0.0.0/33", "ALLOW_PRIVATE_ADDRESSES"),
        ("SELENIUM_POOL_SIZE", "0", "SELENIUM_POOL_SIZE"),
        ("SELENIUM_SCREENSHOT_QUALITY", "101", "SELENIUM_SCREENSHOT_QUALITY"),
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_it(setting: str, value: str, named: str) -> None:
    settings = project_settings(**{setting: value})
    with pytest.raises(ValueError, match=named):
        check_settings(settings)


def test_the_project_defaults_pass_the_settings_check() -> None:
    check_settings(project_settings())


def test_a_shard_with_no_url_of_the_list_succeeds() -> None:
    code, summary = crawl_exit_code(
        {"rivalscope/start_urls": 0, "finish_reason": "finished", "item_scraped_count": 0}
    )
    assert (code, "nothing to crawl" in summary) == (0, True)
    assert crawl_exit_code({"rivalscope/start_urls": 3, "finish_reason": "finished"})[0] == 1


def test_a_bad_outbound_proxy_is_a_usage_error_before_the_crawl() -> None:
    settings = project_settings(S3PIPELINE_URL="s3://b/raw/{name}/{time}/items.{chunk:07d}.jl.gz")
    check_settings(settings)  # the project's defaults pass
    settings.set("RIVALSCOPE_OUTBOUND_PROXY", "https://proxy.corp:3128")
    with pytest.raises(ValueError, match="RIVALSCOPE_OUTBOUND_PROXY"):
        check_settings(settings)
