from __future__ import annotations

from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.test import get_crawler

from crawler.pipelines import ReliableS3Pipeline
from tests.project_settings import project_settings_dict


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
