from __future__ import annotations

import pytest

from rivalscope_core.keys import (
    ChunkRef,
    RunRef,
    analysis_key,
    analysis_prefix,
    chunk_stem,
    claim_key,
    is_raw_chunk_key,
    parse_run_uri,
    parse_s3_uri,
    result_chunk_stem,
    shard_label,
    with_shard,
)


def test_analysis_key_is_a_pure_function_of_page_prompt_and_model() -> None:
    chunk = ChunkRef("b", "raw/competitors/2026-11-23T22-19-03/items.0000005.jl.gz")
    key = analysis_key(chunk, 3, "default-1a2b3c4d", "gemini-2.5-flash")
    assert key == analysis_key(chunk, 3, "default-1a2b3c4d", "gemini-2.5-flash")
    assert key == (
        "analysis/competitors/2026-11-23T22-19-03/default-1a2b3c4d/gemini-2.5-flash/"
        "items.0000005/000003.json"
    )
    assert key.startswith(analysis_prefix(chunk.run, "default-1a2b3c4d"))
    assert analysis_key(chunk, 4, "default-1a2b3c4d", "gemini-2.5-flash") != key
    assert analysis_key(chunk, 3, "default-1a2b3c4d", "gemini-2.5-pro") != key
    assert claim_key(key).endswith("000003.claim")


def test_model_names_with_slashes_stay_one_path_segment() -> None:
    chunk = ChunkRef("b", "raw/competitors/t/items.0000000.jl.gz")
    key = analysis_key(chunk, 1, "p-1", "models/tuned/x:y")
    assert key.split("/")[4] == "tuned%2Fx%3Ay"


def test_parse_run_uri_accepts_a_run_or_a_chunk() -> None:
    run = parse_run_uri("s3://bkt/raw/competitors/2026-11-23T22-19-03/")
    assert run == RunRef("bkt", "competitors", "2026-11-23T22-19-03")
    chunk = parse_run_uri("s3://bkt/raw/competitors/2026-11-23T22-19-03/items.0000000.jl.gz")
    assert isinstance(chunk, ChunkRef)
    assert chunk.run == run


@pytest.mark.parametrize(
    "uri", ["https://x/raw/a/b/", "s3://bkt/analysis/a/b/", "s3://bkt/raw/a/", "s3:///raw/a/b/"]
)
def test_parse_run_uri_rejects_what_is_not_a_run(uri: str) -> None:
    with pytest.raises(ValueError, match="s3://"):
        parse_run_uri(uri) if uri.startswith("s3://b") else parse_s3_uri(uri)


@pytest.mark.parametrize(
    ("index", "count", "key", "expected"),
    [
        (0, 1, "raw/c/t/items.0000000.jl.gz", "raw/c/t/items.0000000.jl.gz"),
        (1, 4, "raw/c/t/items.0000020.jl.gz", "raw/c/t/items.0000020.shard1of4.jl.gz"),
        (3, 4, "raw/c/t/items.0000000.jl", "raw/c/t/items.0000000.shard3of4.jl"),
    ],
)
def test_a_shards_chunk_keys_carry_its_label_and_stay_raw_chunk_keys(
    index: int, count: int, key: str, expected: str
) -> None:
    sharded = with_shard(key, shard_label(index, count))
    assert sharded == expected
    assert is_raw_chunk_key(sharded)


def test_the_chunk_stem_is_the_same_in_chunk_keys_uris_and_result_keys() -> None:
    chunk = ChunkRef("b", "raw/competitors/2026-11-23T22-19-03/items.0000005.shard1of4.jl.gz")
    assert chunk.stem == chunk_stem(chunk.uri) == "items.0000005.shard1of4"
    result = analysis_key(chunk, 2, "default-1a2b3c4d", "gemini-2.5-flash")
    assert result_chunk_stem(result) == chunk.stem


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
