"""The report's files: ``results.jsonl``, ``results.csv`` and ``report.html`` written into the
output directory, and, with ``--upload``, everything copied under ``reports/…`` in the bucket.

The upload is private (no ACL is ever set) and the uploaded ``report.html`` is rendered again
with presigned URLs of the same lifetime as the printed one: a relative link from a presigned
page would be an unsigned request, which a private bucket refuses. The CSV is UTF-8 with a
BOM: spreadsheets read Japanese correctly only with it."""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING

from analyzer_lambda.report.html import NO_SECTIONS, render_report
from analyzer_lambda.report.rows import csv_table, result_dict
from analyzer_lambda.report.source import s3_call

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.report.html import ReportSections
    from analyzer_lambda.report.rows import ReportMeta, ReportRow

_CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".jsonl": "application/x-ndjson; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",  # digest.md: readable in a browser, not a download
}


def write_outputs(
    rows: list[ReportRow],
    meta: ReportMeta,
    out_dir: Path,
    sections: ReportSections = NO_SECTIONS,
) -> None:
    write_data_files(rows, meta, out_dir)
    (out_dir / "report.html").write_text(
        render_report(rows, meta, sections=sections), encoding="utf-8"
    )


def write_data_files(rows: list[ReportRow], meta: ReportMeta, out_dir: Path) -> None:
    """``results.jsonl`` and ``results.csv`` only: the run-complete step uploads no local
    ``report.html`` (``upload`` renders the presigned one), so it renders the page once."""
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as jsonl:
        for row in rows:  # page order: the data file; the CSV and the HTML group them
            jsonl.write(json.dumps(result_dict(row, meta.prompt_id), ensure_ascii=False) + "\n")
    header, table = csv_table(rows, meta.prompt_id)
    # utf-8-sig: Excel reads Japanese correctly only with the BOM
    with (out_dir / "results.csv").open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(table)


def upload_files(s3: S3Client, out_dir: Path, bucket: str, prefix: str) -> None:
    """Every file under ``out_dir`` but ``report.html`` to ``prefix`` + its relative path,
    privately, with its content type (the run-complete step's parts upload theirs this way)."""
    files = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "report.html")
    for path in files:
        key = prefix + path.relative_to(out_dir).as_posix()
        extra = {"ContentType": _CONTENT_TYPES.get(path.suffix, "application/octet-stream")}
        s3_call(
            f"upload s3://{bucket}/{key}", s3.upload_file, str(path), bucket, key, ExtraArgs=extra
        )


def upload(
    s3: S3Client,
    out_dir: Path,
    rows: list[ReportRow],
    meta: ReportMeta,
    bucket: str,
    prefix: str,
    expires: int,
    sections: ReportSections = NO_SECTIONS,
) -> str:
    """Upload the report's files privately and return a presigned URL of ``report.html``."""

    def presign(relative: str) -> str:
        url: str = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": prefix + relative}, ExpiresIn=expires
        )
        return url

    upload_files(s3, out_dir, bucket, prefix)
    html_text = render_report(rows, meta, asset_url=presign, sections=sections)
    s3_call(
        "upload report.html",
        s3.put_object,
        Bucket=bucket,
        Key=prefix + "report.html",
        Body=html_text.encode("utf-8"),
        ContentType=_CONTENT_TYPES[".html"],
    )
    return presign("report.html")
