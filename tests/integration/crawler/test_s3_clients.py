"""Every S3 client of a process shares one botocore data loader (``rivalscope_core.s3``): the
clients built from it still work, each with its own configuration, on several threads at once,
against the real moto server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rivalscope_core.s3 import make_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def test_clients_sharing_the_loader_each_store_and_read(bucket: str) -> None:
    upload = make_s3_client(own_retries=True)  # the pipeline's
    marker = make_s3_client()  # the shard marker's
    upload.put_object(Bucket=bucket, Key="raw/a.jl.gz", Body=b"chunk")
    marker.put_object(Bucket=bucket, Key="raw/_done/1of1.json", Body=b"{}")
    assert marker.get_object(Bucket=bucket, Key="raw/a.jl.gz")["Body"].read() == b"chunk"
    assert upload.get_object(Bucket=bucket, Key="raw/_done/1of1.json")["Body"].read() == b"{}"
    configs: list[Any] = [upload.meta.config, marker.meta.config]  # options untyped in stubs
    assert tuple(config.retries for config in configs) == (
        {"mode": "standard", "total_max_attempts": 1},
        {"mode": "standard"},
    )


def test_clients_built_on_several_threads_at_once_all_work(bucket: str) -> None:
    def build_and_store(number: int) -> str:
        client: S3Client = make_s3_client(own_retries=number % 2 == 0)
        key = f"raw/{number}.txt"
        client.put_object(Bucket=bucket, Key=key, Body=str(number).encode())
        return client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(build_and_store, range(16))) == [str(n) for n in range(16)]
