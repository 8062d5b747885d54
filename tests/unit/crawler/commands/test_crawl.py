from __future__ import annotations

from typing import Any

import pytest

from crawler.commands.crawl import check_settings, crawl_exit_code
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
