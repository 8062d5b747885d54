"""Dockerfile.crawler, Dockerfile.analyzer and .dockerignore, read as ``docker build`` reads
them (no Docker engine here): pinned bases, exec-form entry points, a non-root crawler, each
image with only its own requirements file, and nothing secret in a layer or the context."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from typing import TYPE_CHECKING

import pytest

from crawler import settings as crawler_settings
from tests.unit.infra.dockerfile import ROOT, Stage, copy_sources, read_dockerfile

if TYPE_CHECKING:
    from pathlib import Path

CRAWLER = ROOT / "Dockerfile.crawler"
ANALYZER = ROOT / "Dockerfile.analyzer"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
ROOT_USERS = {"root", "0", "root:root", "0:0"}


@pytest.fixture(scope="module")
def crawler() -> list[Stage]:
    return read_dockerfile(CRAWLER)


@pytest.fixture(scope="module")
def analyzer() -> list[Stage]:
    return read_dockerfile(ANALYZER)


def _dockerignore_allowed() -> list[str]:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", ".dockerignore should start by excluding everything (an allow-list)"
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


def test_base_images_are_pinned_by_digest(crawler: list[Stage], analyzer: list[Stage]) -> None:
    for stage in [*crawler, *analyzer]:
        assert DIGEST.search(stage.base), f"{stage.base} is not pinned by digest"
    assert crawler[-1].base.startswith("python:3.11-slim-bookworm@")
    assert {s.base.split("@")[0] for s in analyzer} == {"public.ecr.aws/lambda/python:3.12"}


def test_entry_points_are_exec_form(crawler: list[Stage], analyzer: list[Stage]) -> None:
    [entrypoint] = crawler[-1].all("ENTRYPOINT")
    argv = entrypoint.exec_form()
    assert argv is not None, "shell form would put /bin/sh between SIGTERM and Scrapy"
    assert argv[:3] == ["/usr/bin/tini", "-s", "--"]
    assert argv[3] == "/usr/local/bin/rivalscope-crawl"
    [cmd] = crawler[-1].all("CMD")
    assert cmd.exec_form() == []
    # The analyser keeps the base image's exec-form entry point and names the handler.
    assert not analyzer[-1].all("ENTRYPOINT")
    [handler] = analyzer[-1].all("CMD")
    assert handler.exec_form() == ["analyzer_lambda.handler.lambda_handler"]


def test_analyzer_cmd_names_the_handler_function_that_exists() -> None:
    [handler] = read_dockerfile(ANALYZER)[-1].all("CMD")
    argv = handler.exec_form()
    assert argv is not None
    module, function = argv[0].rsplit(".", 1)
    source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
    defined = {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
    assert function in defined


def test_crawler_image_copies_the_entry_script_it_runs(crawler: list[Stage]) -> None:
    copies = [c.args.split() for c in crawler[-1].all("COPY")]
    assert ["docker/crawl", "/usr/local/bin/rivalscope-crawl"] in copies
    assert (ROOT / "docker" / "crawl").stat().st_mode & 0o111, "docker/crawl must be executable"


def test_crawler_runs_as_a_non_root_user(crawler: list[Stage]) -> None:
    users = crawler[-1].all("USER")
    assert users, "no USER: the crawler would run as root"
    assert users[-1].args not in ROOT_USERS
    # Every instruction after the switch runs unprivileged, and nothing switches back.
    after = crawler[-1].instructions[crawler[-1].instructions.index(users[-1]) :]
    assert not [i for i in after if i.keyword == "RUN"]


def test_crawler_image_has_the_browser_driver_cjk_font_and_init(crawler: list[Stage]) -> None:
    installs = " ".join(r.args for r in crawler[-1].all("RUN") if "apt-get install" in r.args)
    for package in ("chromium-headless-shell", "chromium-driver", "fonts-noto-cjk", "tini"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", installs), package
    # The package installed is the browser the crawler starts by default.
    assert crawler_settings.SELENIUM_BROWSER_PATH == "/usr/lib/chromium/chromium-headless-shell"
    assert "--no-install-recommends" in installs
    assert "rm -rf /var/lib/apt/lists/*" in installs


@pytest.mark.parametrize(
    ("dockerfile", "own", "other"),
    [
        (CRAWLER, "requirements/crawler.txt", "analyzer"),
        (ANALYZER, "requirements/analyzer.txt", "crawler"),
    ],
)
def test_each_image_installs_only_its_own_requirements_file(
    dockerfile: Path, own: str, other: str
) -> None:
    stages = read_dockerfile(dockerfile)
    sources = [s for stage in stages for c in stage.all("COPY") for s in copy_sources(c)]
    requirement_files = [s for s in sources if s.startswith("requirements/")]
    assert requirement_files == [own]
    pip_runs = [r.args for stage in stages for r in stage.all("RUN") if "pip install" in r.args]
    assert all("dev.txt" not in run and f"{other}.txt" not in run for run in pip_runs)
    # Pinned requirements come before the code, so code changes reuse the dependency layer.
    assert sources.index(own) < sources.index("rivalscope_core/")


def test_analyzer_image_is_multi_stage_without_build_tools_or_crawler(
    analyzer: list[Stage],
) -> None:
    build, final = analyzer[0], analyzer[-1]
    assert len(analyzer) >= 2
    assert build.name is not None
    assert not final.all("RUN"), "the final stage only copies what the build stage made"
    copies = final.all("COPY")
    assert [c.args.split()[0] for c in copies if c.args.startswith("--from=")] == [
        f"--from={build.name}"
    ]
    # Of the source tree, only the analyser and the shared package reach the image.
    assert sorted(s for c in copies for s in copy_sources(c)) == [
        "analyzer_lambda/",
        "rivalscope_core/",
    ]


def test_analyzer_image_registers_the_analyzer_plugins(tmp_path: Path) -> None:
    """The build stage writes the project's entry points next to the dependencies
    (docker/dist_info.py); with only that directory on the path, the plugins are found."""
    [build, *_] = read_dockerfile(ANALYZER)
    assert any("docker/dist_info.py" in copy_sources(c) for c in build.all("COPY"))
    assert any("dist_info.py" in r.args and "/opt/deps" in r.args for r in build.all("RUN"))
    subprocess.run(
        [sys.executable, str(ROOT / "docker" / "dist_info.py"), str(ROOT / "pyproject.toml"),
         str(tmp_path)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    probe = (
        "import importlib.metadata as m, json;"
        "found = m.entry_points(group='rivalscope.analyzers');"
        "print(json.dumps({e.name: e.value for e in found}))"
    )
    # -S: no site-packages, so the dev install's own metadata cannot answer instead.
    found = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": str(tmp_path)},
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert json.loads(found.stdout) == declared["rivalscope.analyzers"]
    assert {"extract", "gemini"} <= set(declared["rivalscope.analyzers"])


def test_every_copied_path_is_in_the_build_context(
    crawler: list[Stage], analyzer: list[Stage]
) -> None:
    allowed = _dockerignore_allowed()
    for stage in [*crawler, *analyzer]:
        for copy in stage.all("COPY"):
            for source in copy_sources(copy):
                path = source.rstrip("/")
                assert (ROOT / path).exists(), f"COPY {source}: no such path"
                assert any(path == a or path.startswith(a + "/") for a in allowed), (
                    f"COPY {source}: excluded by .dockerignore"
                )


def test_no_secret_reaches_an_image(crawler: list[Stage], analyzer: list[Stage]) -> None:
    secret_name = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)", re.IGNORECASE)
    for stage in [*crawler, *analyzer]:
        for instruction in stage.all("ENV") + stage.all("ARG"):
            names = re.findall(r"(\w+)=", instruction.args) or [instruction.args.split()[0]]
            assert not [n for n in names if secret_name.search(n)], instruction
    for path in (CRAWLER, ANALYZER, ROOT / "docker" / "crawl"):
        text = path.read_text()
        assert not re.search(r"AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}", text), path
    # The context is an allow-list: none of the places secrets or crawled data live.
    allowed = _dockerignore_allowed()
    for private in (".env", ".venv", "data", "out", ".git", "tests", "infra"):
        assert not [a for a in allowed if a == private or private.startswith(a + "/")], private
