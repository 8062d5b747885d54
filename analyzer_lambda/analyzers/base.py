"""The analyser plugin contract.

An analyser turns one page record and one prompt into a structured answer. It is built once per
process (a Lambda warm start keeps it) by the factory registered under the
``rivalscope.analyzers`` entry-point group, and called from several threads at once, so it must
be thread-safe. It reports failures as ``Analysis.error`` — it never raises for one page's
problem — and never puts an error text inside ``answer``.

The factory is called with the analyser ``Config`` (``analyzer_lambda.config``) as its only
argument: ``factory(config)``. An ``Analysis`` whose ``error.type`` is in ``NOT_RECORDED_ERRORS``
(``DEADLINE_ERROR``: ran out of time; ``UNAVAILABLE_ERROR``: key refused, unknown model) is not a
verdict on the page: no result is recorded and the next delivery of the event analyses the page
again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rivalscope_core.records import ErrorInfo, Usage

if TYPE_CHECKING:
    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord


#: ``Analysis.error.type`` of a page given up because the deadline came: retried, not recorded.
DEADLINE_ERROR = "deadline"
#: ``Analysis.error.type`` when the analyser cannot work at all (key refused, unknown model): a
#: configuration problem, not a verdict on the page, so nothing is recorded and the event fails.
UNAVAILABLE_ERROR = "analyzer_unavailable"
#: Error types after which no result is written: the page is analysed again on redelivery.
NOT_RECORDED_ERRORS = frozenset({DEADLINE_ERROR, UNAVAILABLE_ERROR})


@dataclass(frozen=True)
class Analysis:
    answer: dict[str, Any] | None
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None


class Deadline(Protocol):
    """Seconds left before the caller must stop (the Lambda's remaining time, minus a margin)."""

    def remaining(self) -> float: ...


class Analyzer(Protocol):
    #: the ``analyzer`` field of result records (``gemini``, ``extract``)
    name: str

    def model_for(self, prompt: Prompt) -> str:
        """The model id this analyser would use for ``prompt``: part of the result key, so it
        must be known before the call (``extract`` returns a fixed version string)."""
        ...

    def analyze(self, page: PageRecord, prompt: Prompt, deadline: Deadline) -> Analysis: ...
