from __future__ import annotations

from typing import Any

import pytest
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.test import get_crawler

from crawler.pipelines import ReliableS3Pipeline, UploadConfig
from tests.project_settings import project_settings, project_settings_dict


def test_scrapy_builds_the_pipeline_without_deprecation_warnings() -> None:
    # pytest turns warnings into errors: Scrapy 2.19 warns for pipeline methods that take
    # ``spider``, as s3pipeline's do; ours must not.
    crawler = get_crawler(
        settings_dict={
            **{k: v for k, v in project_settings_dict().items() if k.startswith("S3PIPELINE_")},
            "ITEM_PIPELINES": {"crawler.pipelines.ReliableS3Pipeline": 100},
            "S3PIPELINE_URL": "s3://bucket/raw/{name}/{time}/items.{chunk:07d}.jl.gz",
            "S3PIPELINE_SPILL_DIR": "spill",
        }
    )
    manager = ItemPipelineManager.from_crawler(crawler)
    (pipeline,) = manager.middlewares
    assert isinstance(pipeline, ReliableS3Pipeline)
    assert pipeline.bucket_name == "bucket"


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


def test_the_pipeline_sets_what_its_base_class_sets_but_builds_it_no_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # scrapy-s3pipeline's __init__ builds a boto3 client in the default session that ours
    # never uses (it uploads with its own): ours sets the rest alike and builds none.
    import boto3
    from s3pipeline import S3Pipeline

    crawler = get_crawler(
        settings_dict={
            **{k: v for k, v in project_settings_dict().items() if k.startswith("S3PIPELINE_")},
            "S3PIPELINE_URL": "s3://bucket/raw/{name}/{time}/items.{chunk:07d}.jl.gz",
            "S3PIPELINE_SPILL_DIR": "spill",
        }
    )
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    ours = ReliableS3Pipeline.from_crawler(crawler)
    assert boto3.DEFAULT_SESSION is None
    base = S3Pipeline(crawler.settings, crawler.stats)
    assert base.strategy is not None
    assert ours.strategy is None
    expected = {k: v for k, v in vars(base).items() if k != "strategy"}
    assert {k: v for k, v in vars(ours).items() if k in vars(base) and k != "strategy"} == (
        expected
    )
