"""What a re-analysis would do, worked out before it does anything: the pages that still lack
a result for (prompt id, model), per chunk, their estimated tokens and cost, and whether the
user must confirm.

Planning reads S3 only (no site, no model), so ``--dry-run`` stops after it and costs nothing,
and a run estimated above ``RIVALSCOPE_CONFIRM_ABOVE_USD``, or whose model has no known price,
is stopped here before a single token is spent. Counting pages by their result keys is also
what makes a rerun resume: finished pages are never planned again."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analyzer_lambda.chunks import read_pages
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.reanalyze.pricing import (
    CONFIRM_ABOVE_ENV,
    DEFAULT_CONFIRM_ABOVE,
    Price,
    estimate_page_tokens,
)
from rivalscope_core.exit_codes import UsageError
from rivalscope_core.keys import (
    ChunkRef,
    RunRef,
    analysis_key,
    analysis_prefix,
    is_raw_chunk_key,
)
from rivalscope_core.records import PageRecord

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from analyzer_lambda.config import Config
    from analyzer_lambda.prompts.parser import Prompt
    from analyzer_lambda.store import Store


@dataclass
class Plan:
    """What a re-analysis would do: the pages without a result, per chunk, and their cost.

    ``prompt`` None: each page with its own prompt, as the analyser picks it (the record's
    ``prompt`` — a watch list's per-competitor prompt — else ``ANALYSIS_PROMPT``): ``own``
    resolves a record's reference and ``model_of`` gives a prompt's model."""

    prompt: Prompt | None
    model: str
    analyzer: str
    own: Callable[[str | None], Prompt] | None = None
    model_of: Callable[[Prompt], str] | None = None
    prompt_ids: set[str] = field(default_factory=set)
    chunks: int = 0
    pages: int = 0
    todo: dict[ChunkRef, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    price: Price | None = None

    @property
    def todo_pages(self) -> int:
        return sum(self.todo.values())

    @property
    def cost(self) -> float | None:
        return (
            None if self.price is None else self.price.cost(self.input_tokens, self.output_tokens)
        )

    def describe(self) -> str:
        cost = "unknown (no price for this model: see RIVALSCOPE_PRICES_FILE)"
        if self.price is not None:
            cost = f"${self.cost:.4f} (prices as of {self.price.as_of})"
        which = (
            f"prompt {self.prompt.prompt_id}"
            if self.prompt is not None
            else f"each page's own prompt ({', '.join(sorted(self.prompt_ids)) or 'none'})"
        )
        return (
            f"{which}, model {self.model} ({self.analyzer})\n"
            f"pages: {self.pages} in {self.chunks} chunk(s); {self.pages - self.todo_pages} "
            f"already analysed; {self.todo_pages} to analyse in {len(self.todo)} chunk(s)\n"
            f"estimated tokens: {self.input_tokens:,} input, {self.output_tokens:,} output\n"
            f"estimated cost: {cost}"
        )


def make_plan(store: Store, target: RunRef | ChunkRef, plan: Plan, config: Config) -> Plan:
    """Read every chunk (S3 only, no site, no model) and count the pages left to analyse."""
    run = target.run if isinstance(target, ChunkRef) else target
    chunks = chunks_of(store, target)
    listed: dict[str, set[str]] = {}

    def done(prompt_id: str, model: str) -> set[str]:
        prefix = analysis_prefix(run, prompt_id, model)
        if prefix not in listed:
            listed[prefix] = store.existing_keys(run.bucket, prefix)
        return listed[prefix]

    free = plan.analyzer == "extract"
    for chunk in chunks:
        plan.chunks += 1
        ref: str | None = None  # as work.py: a broken line goes with the line before it
        with store.open_chunk(chunk, config.work_dir) as stream:
            for line, record in read_pages(stream, key=chunk.key):
                plan.pages += 1
                if isinstance(record, PageRecord):
                    ref = record.prompt
                prompt, model = _prompt_and_model(plan, ref)
                plan.prompt_ids.add(prompt.prompt_id)
                if analysis_key(chunk, line, prompt.prompt_id, model) in done(
                    prompt.prompt_id, model
                ):
                    continue
                plan.todo[chunk] = plan.todo.get(chunk, 0) + 1
                if isinstance(record, PageRecord) and not free:
                    tokens_in, tokens_out = estimate_page_tokens(
                        record, prompt, text_budget=config.text_tokens,
                        image_max_side=config.screenshot_max_side,
                        max_output=config.gemini_max_output_tokens,
                    )  # fmt: skip
                    plan.input_tokens += tokens_in
                    plan.output_tokens += tokens_out
    return plan


def chunks_of(store: Store, target: RunRef | ChunkRef) -> list[ChunkRef]:
    """The chunk, or every chunk of the run in key order."""
    if isinstance(target, ChunkRef):
        return [target]
    keys = store.existing_keys(target.bucket, target.raw_prefix)
    return [ChunkRef(target.bucket, key) for key in sorted(keys) if is_raw_chunk_key(key)]


def _prompt_and_model(plan: Plan, ref: str | None) -> tuple[Prompt, str]:
    if plan.prompt is not None:
        return plan.prompt, plan.model
    assert plan.own is not None
    assert plan.model_of is not None
    prompt = plan.own(ref)
    return prompt, plan.model_of(prompt)


def confirm(
    plan: Plan, yes: bool, environ: dict[str, str] | os._Environ[str], cost: float | None = None
) -> None:
    """Raise UsageError when a costly run is neither confirmed nor allowed with ``--yes``
    (``cost``: what the run costs if not ``plan.cost``, e.g. at Batch API prices)."""
    try:
        limit = float(environ.get(CONFIRM_ABOVE_ENV) or DEFAULT_CONFIRM_ABOVE)
    except ValueError:
        raise ConfigurationError(f"{CONFIRM_ABOVE_ENV} must be a number of USD") from None
    cost = plan.cost if cost is None else cost
    if yes or (cost is not None and cost <= limit) or plan.analyzer == "extract":
        return
    why = "an unknown cost" if cost is None else f"an estimated ${cost:.2f} (over ${limit:.2f})"
    if not sys.stdin.isatty():
        raise UsageError(f"this run has {why}: pass --yes to run it without a terminal")
    answer = input(f"This run has {why}. Proceed? [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise UsageError("not confirmed")
