"""Write the package metadata of the project (name, version, entry points) into a directory on
``sys.path``, without building the project: ``python dist_info.py pyproject.toml TARGET_DIR``.

Why: analysers are plugins found through the ``rivalscope.analyzers`` entry-point group
(``importlib.metadata.entry_points``), which reads ``*.dist-info/entry_points.txt``. The Lambda
image copies its two packages as source (so their data files - the default prompt, the report
templates - come along), and this script adds the one file ``pip install`` would otherwise have
been needed for. Dockerfile.analyzer runs it in its build stage."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def write_dist_info(pyproject: Path, target: Path) -> Path:
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    name, version = project["name"], project["version"]
    dist_info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", "utf-8"
    )
    sections = []
    for group, entries in project.get("entry-points", {}).items():
        lines = [f"{entry} = {target_ref}" for entry, target_ref in entries.items()]
        sections.append(f"[{group}]\n" + "\n".join(lines) + "\n")
    (dist_info / "entry_points.txt").write_text("\n".join(sections), "utf-8")
    (dist_info / "INSTALLER").write_text("docker/dist_info.py\n", "utf-8")
    return dist_info


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: dist_info.py PYPROJECT_TOML TARGET_DIR", file=sys.stderr)
        return 2
    print(write_dist_info(Path(argv[0]), Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
