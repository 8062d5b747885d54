"""The line ``make run`` prints once the analysis is done: how many answers the model gave and
how many were reused from the page's previous capture because the page did not change (issue
#12: "unchanged pages cost nothing" — a user sees it, not only the bill).

Reads the run's result records from the local endpoint: one small JSON per page, which a local
run can afford."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from rivalscope_core.keys import ANALYSIS_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import RunRef


def result_counts(s3: S3Client, run: RunRef) -> Counter[str]:
    """``model`` (answered by the analyser), ``reused``, ``failed`` and ``tokens`` of a run."""
    counts: Counter[str] = Counter()
    prefix = f"{ANALYSIS_PREFIX}{run.spider}/{run.time}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=run.bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith(".json"):
                continue
            result = json.loads(s3.get_object(Bucket=run.bucket, Key=obj["Key"])["Body"].read())
            usage = result.get("usage") or {}
            counts["tokens"] += int(usage.get("input_tokens") or 0)
            counts["tokens"] += int(usage.get("output_tokens") or 0)
            counts[f"analyzer:{result.get('analyzer') or ''}"] += 1
            if result.get("error"):
                counts["failed"] += 1
            elif result.get("reused_from"):
                counts["reused"] += 1
            else:
                counts["model"] += 1
    return counts


def reuse_summary(s3: S3Client, run: RunRef) -> str:
    counts = result_counts(s3, run)
    if counts["reused"] == 0 and counts["analyzer:extract"] == counts["model"] > 0:
        return (
            f"analysis: {counts['model']} answered by the offline extract analyser (free to "
            "run again, so answers are reused only with Gemini)"
        ) + (f", {counts['failed']} failed" if counts["failed"] else "")
    line = (
        f"analysis: {counts['model']} answered by the analyser ({counts['tokens']:,} tokens), "
        f"{counts['reused']} reused from the previous capture (page unchanged, no model call)"
    )
    return line + (f", {counts['failed']} failed" if counts["failed"] else "")
