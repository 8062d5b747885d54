"""The corpus: pages and their ground-truth main text, read from a directory and checked.

The files are third-party data and live outside the repository (the workplace keeps such data
in the steering repo's ``shared/`` folder); ``manifest.json`` beside this module pins what they
must be: source repository, commit, licence, and the sha256 of every file. A file that is
missing or differs stops the run, so every figure in bench/RESULTS.md was measured on exactly
these bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).with_name("manifest.json")
CORPUS_ENV = "RIVALSCOPE_CORPUS_DIR"
DEFAULT_DIR = ROOT.parent / "shared" / "corpus" / "extraction"


class CorpusError(Exception):
    """The corpus is absent or not the pinned one; the message says what to do."""


@dataclass(frozen=True)
class Page:
    id: str
    source: str
    lang: str
    kind: str
    aspnet: bool
    html: str
    truth: str


def corpus_dir(explicit: str | None, environ: dict[str, str] | None = None) -> Path:
    """``--corpus`` beats ``RIVALSCOPE_CORPUS_DIR``, which beats the shared folder."""
    env = os.environ if environ is None else environ
    return Path(explicit or env.get(CORPUS_ENV) or DEFAULT_DIR)


def load_manifest() -> dict[str, object]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def verify(directory: Path, manifest: dict[str, object]) -> None:
    """Raise ``CorpusError`` unless every pinned file is there with its sha256."""
    sums: dict[str, str] = manifest["sha256"]  # type: ignore[assignment]
    if not directory.is_dir():
        raise CorpusError(
            f"no corpus at {directory}. The pages are not in the repository: ask for them to be "
            "placed in shared/corpus/extraction/ of the steering repo, or pass --corpus DIR "
            f"(or set {CORPUS_ENV}) to a copy laid out as bench/extraction/manifest.json lists; "
            "bench/extraction/build_corpus.py rebuilds one from the pinned commits."
        )
    missing = [rel for rel in sums if not (directory / rel).is_file()]
    wrong = [
        rel
        for rel, digest in sums.items()
        if rel not in missing
        and hashlib.sha256((directory / rel).read_bytes()).hexdigest() != digest
    ]
    if missing or wrong:
        raise CorpusError(
            f"{directory} is not the pinned corpus: {len(missing)} files missing "
            f"{missing[:3]}, {len(wrong)} differ {wrong[:3]}. Rebuild it with "
            "bench/extraction/build_corpus.py or fetch the shared copy again."
        )


def read_pages(directory: Path, limit: int | None = None) -> Iterator[Page]:
    manifest = load_manifest()
    verify(directory, manifest)
    pages: list[dict[str, object]] = manifest["pages"]  # type: ignore[assignment]
    for entry in pages[:limit]:
        raw = (directory / str(entry["html"])).read_bytes()
        if str(entry["html"]).endswith(".gz"):
            raw = gzip.decompress(raw)
        yield Page(
            id=str(entry["id"]),
            source=str(entry["source"]),
            lang=str(entry["lang"]),
            kind=str(entry["kind"]),
            aspnet=bool(entry["aspnet"]),
            html=raw.decode("utf-8", errors="replace"),
            truth=_truth(directory / str(entry["truth"])),
        )


def _truth(path: Path) -> str:
    """Ground-truth main text: the JSON's ``main_content``, or the text of an expected HTML."""
    if path.suffix == ".json":
        record = json.loads(path.read_text(encoding="utf-8"))
        return str(record["ground_truth"].get("main_content") or "")
    return html_to_text(path.read_text(encoding="utf-8"))


_BLOCKS = (
    "p", "div", "section", "article", "li", "tr", "td", "th", "br", "h1", "h2", "h3", "h4",
    "h5", "h6", "pre", "blockquote", "dt", "dd", "figcaption", "table", "ul", "ol",
)  # fmt: skip


def html_to_text(html: str) -> str:
    """Every text node of an expected-output HTML, blocks on their own lines (no extractor:
    the file already holds only the main content)."""
    from lxml import html as lxml_html

    root = lxml_html.fragment_fromstring(html, create_parent="div")
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    return str(root.text_content())
