"""Build the extraction corpus subset and its manifest from pinned snapshots of two public repos.

Run once by whoever refreshes the corpus (the output is data, never committed: the workplace
rule keeps third-party data in the steering repo's ``shared/`` folder)::

    python -m bench.extraction.build_corpus --readability GIT_DIR --wceb GIT_DIR \
        --out /work/corpus/extraction

``GIT_DIR`` is a bare clone (or a mirror) at the commits pinned below; files are read with
``git cat-file`` so no work tree is needed. The selection is deterministic:

- mozilla/readability ``test/test-pages``: every page with an ``expected.html`` whose
  ``source.html`` is at least 10 kB (the smaller ones are synthetic unit cases, not real pages);
- tiptopjaw/web-content-extraction-benchmark ``release/html`` + ``benchmark/ground-truth``: a
  quota per page type (product, service, documentation, forum, listing, collection, article),
  pages whose ground truth quotes a price first, then by sha256 of the id; plus every
  ASP.NET WebForms page (``__VIEWSTATE``) and every page not declared English.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
from pathlib import Path

READABILITY: dict[str, object] = {
    "name": "readability",
    "repo": "mozilla/readability",
    "commit": "ab4027a8b37669745016869a37a504727992b2ba",
    "licence": "Apache-2.0",
    "licence_files": ["LICENSE.md", "NOTICE"],
    "truth": "expected.html: Readability's reviewed expected output (HTML of the main text)",
}
WCEB: dict[str, object] = {
    "name": "wceb-2026",
    "repo": "tiptopjaw/web-content-extraction-benchmark",
    "commit": "977613a3a90de65c9ed5e1db251eeede7b9d9714",
    "licence": "Apache-2.0",
    "licence_files": ["LICENSE"],
    "truth": "ground-truth/<id>.json ground_truth.main_content: AI-drafted, human-verified text",
}
QUOTAS = {
    "product": 35,
    "service": 30,
    "documentation": 15,
    "forum": 10,
    "listing": 10,
    "collection": 10,
    "article": 20,
}
_PRICE = re.compile(r"[$€£¥]\s?\d|\d\s?(?:€|EUR|USD)\b")
_LANG = re.compile(rb"<html[^>]*\blang=[\"']?([A-Za-z]{2})", re.IGNORECASE)


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True
    ).stdout


def _blob(git_dir: Path, commit: str, path: str) -> bytes:
    return _git(git_dir, "cat-file", "blob", f"{commit}:{path}")


def _write(out: Path, rel: str, data: bytes, sums: dict[str, str]) -> None:
    target = out / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    sums[rel] = hashlib.sha256(data).hexdigest()


def _readability(git_dir: Path, out: Path, sums: dict[str, str]) -> list[dict[str, str]]:
    commit, base = str(READABILITY["commit"]), "test/test-pages/"
    names = _git(git_dir, "ls-tree", "-r", "--name-only", commit, base).decode().splitlines()
    pages = sorted({n[len(base) :].split("/")[0] for n in names if n.endswith("/expected.html")})
    chosen = []
    for name in pages:
        source = _blob(git_dir, commit, f"{base}{name}/source.html")
        if len(source) < 10_000:
            continue
        expected = _blob(git_dir, commit, f"{base}{name}/expected.html")
        meta_path = f"{base}{name}/expected-metadata.json"
        meta = json.loads(_blob(git_dir, commit, meta_path)) if meta_path in names else {}
        prefix = f"readability/{name}"
        _write(out, f"{prefix}/source.html", source, sums)
        _write(out, f"{prefix}/expected.html", expected, sums)
        lang = str(meta.get("lang") or "")[:2].lower() or _sniff_lang(source)
        chosen.append(
            {
                "id": prefix,
                "source": "readability",
                "html": f"{prefix}/source.html",
                "truth": f"{prefix}/expected.html",
                "lang": lang,
                "kind": "article",
                "aspnet": str(b"__VIEWSTATE" in source).lower(),
            }
        )
    for licence in ("LICENSE.md", "NOTICE"):
        _write(out, f"readability/{licence}", _blob(git_dir, commit, licence), sums)
    return chosen


def _sniff_lang(html: bytes) -> str:
    match = _LANG.search(html[:20_000])
    return match.group(1).decode().lower() if match else "?"


def _wceb(git_dir: Path, out: Path, sums: dict[str, str]) -> list[dict[str, str]]:
    commit = str(WCEB["commit"])
    names = set(_git(git_dir, "ls-tree", "-r", "--name-only", commit).decode().splitlines())
    candidates = []
    for name in sorted(names):
        if not name.startswith("benchmark/ground-truth/"):
            continue
        ident = name.rsplit("/", 1)[1].removesuffix(".json")
        html_path = f"release/html/{ident}.html.gz"
        if html_path not in names:
            continue
        truth = _blob(git_dir, commit, name)
        record = json.loads(truth)
        html_gz = _blob(git_dir, commit, html_path)
        html = gzip.decompress(html_gz)
        main = record["ground_truth"].get("main_content") or ""
        kind = record.get("_internal", {}).get("page_type", {}).get("primary") or "article"
        candidates.append(
            {
                "ident": ident,
                "kind": kind,
                "lang": _sniff_lang(html),
                "aspnet": b"__VIEWSTATE" in html,
                "priced": bool(_PRICE.search(main)),
                "order": hashlib.sha256(ident.encode()).hexdigest(),
                "blobs": (truth, html_gz),
            }
        )
    picked: dict[str, dict[str, object]] = {}
    for c in candidates:
        if c["aspnet"] or c["lang"] not in ("en", "?"):
            picked[str(c["ident"])] = c
    for kind, quota in QUOTAS.items():
        pool = sorted(
            (c for c in candidates if c["kind"] == kind and c["ident"] not in picked),
            key=lambda c: (not c["priced"], c["order"]),
        )
        for c in pool[:quota]:
            picked[str(c["ident"])] = c
    chosen = []
    for ident in sorted(picked):
        c = picked[ident]
        truth, html_gz = c["blobs"]  # type: ignore[misc]
        prefix = f"wceb-2026/{ident}"
        _write(out, f"{prefix}.html.gz", html_gz, sums)
        _write(out, f"{prefix}.json", truth, sums)
        chosen.append(
            {
                "id": prefix,
                "source": "wceb-2026",
                "html": f"{prefix}.html.gz",
                "truth": f"{prefix}.json",
                "lang": str(c["lang"]),
                "kind": str(c["kind"]),
                "aspnet": str(c["aspnet"]).lower(),
            }
        )
    _write(out, "wceb-2026/LICENSE", _blob(git_dir, commit, "release/LICENSE"), sums)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readability", type=Path, required=True, help="git dir")
    parser.add_argument("--wceb", type=Path, required=True, help="git dir")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, default=Path(__file__).with_name("manifest.json"))
    args = parser.parse_args()
    sums: dict[str, str] = {}
    pages = _readability(args.readability, args.out, sums) + _wceb(args.wceb, args.out, sums)
    for page in pages:
        page["aspnet"] = page["aspnet"] == "true"  # type: ignore[assignment]
    manifest = {
        "about": "Pages and ground-truth main text for python -m bench.extraction; the files "
        "live outside the repository (see bench/extraction/README.md).",
        "sources": [READABILITY, WCEB],
        "pages": pages,
        "sha256": dict(sorted(sums.items())),
    }
    args.manifest.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(pages)} pages, {len(sums)} files -> {args.out}; manifest {args.manifest}")


if __name__ == "__main__":
    main()
