"""Analysers are plugins, as Scrapy components are: a package registers a factory under the
``rivalscope.analyzers`` entry-point group (SPEC.md ``ANALYZER``); ``load_analyzer`` finds the
one ``ANALYZER`` names and calls it with the ``Config``."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from analyzer_lambda.exceptions import ConfigurationError

if TYPE_CHECKING:
    from analyzer_lambda.analyzers.base import Analyzer
    from analyzer_lambda.config import Config

GROUP = "rivalscope.analyzers"


def available_analyzers() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def load_analyzer(config: Config, name: str | None = None) -> Analyzer:
    """Build the analyser ``name`` (default: ``config.analyzer_name``). An unknown name is a
    configuration error listing the installed ones."""
    name = name or config.analyzer_name
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        raise ConfigurationError(
            f"ANALYZER={name!r} is not installed; available: {', '.join(available_analyzers())}"
        )
    factory = matches[0].load()
    analyzer: Analyzer = factory(config)
    return analyzer
