"""The cost ledger of a run (SPEC.md "Cost ledger"): measurements times dated prices, line by
line, with a total and a cost per 1,000 pages, at standard prices and with the Gemini Batch
API's for comparison. Pure: ``Measurements`` and a ``PriceTable`` in, a ``Ledger`` out; its
``to_dict`` is ``cost.json``.

Every line says how its quantity was obtained (``basis``): ``measured`` (usage, runtime
records, shard markers, a listing), ``estimated`` (S3 requests, from object counts — the note
says how), or ``not measured`` (no record to measure from: the line costs nothing in the total
and the total says it is missing, never a guess). A model without a price is ``no price``, the
same way. Reused answers cost nothing and are listed as savings, valued at the usage of the
answer they reuse."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from analyzer_lambda.cost.prices import FREE_MODEL_PREFIXES

if TYPE_CHECKING:
    from analyzer_lambda.cost.measure import Measurements, TokenUse
    from analyzer_lambda.cost.prices import PriceTable
    from rivalscope_core.markers import ShardMarker

GIB = 1024**3
FARGATE_MINIMUM_SECONDS = 60  # Fargate bills per second, with a one-minute minimum per task
_DIGITS = 12  # significant digits kept in cost.json: exact enough to add up, short to read


@dataclass(frozen=True)
class TaskSize:
    """The crawl task as deployed (``config.py``: ``CRAWL_TASK_CPU``/``_MEMORY``)."""

    cpu_units: int = 1024
    memory_mib: int = 3072
    architecture: str = "x86_64"

    @property
    def vcpu(self) -> float:
        return self.cpu_units / 1024

    @property
    def memory_gb(self) -> float:
        return self.memory_mib / 1024


@dataclass(frozen=True)
class Line:
    key: str  # stable: "gemini/<model>/input", "lambda/compute", "s3/storage", ...
    item: str
    quantity: float | None
    unit: str
    unit_price: float | None
    price_unit: str
    as_of: str | None
    source: str | None
    cost: float | None
    batch_cost: float | None
    basis: str  # "measured", "estimated", "not measured", "no price"
    note: str = ""


@dataclass
class Ledger:
    run: str
    prompt_id: str
    generated_at: str
    pages: int
    prices: str  # "built-in" or the prices file
    lines: list[Line] = field(default_factory=list)
    savings: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.cost or 0.0 for line in self.lines)

    @property
    def batch_total(self) -> float:
        return sum(line.batch_cost or 0.0 for line in self.lines)

    @property
    def missing(self) -> list[str]:
        """Lines the total leaves out (not measured, or no price)."""
        return [line.key for line in self.lines if line.cost is None]

    def per_1000_pages(self, total: float) -> float | None:
        return total / self.pages * 1000 if self.pages else None

    def to_dict(self) -> dict[str, Any]:
        def rounded(line: Line) -> dict[str, Any]:
            data = asdict(line)
            for name in ("quantity", "cost", "batch_cost"):
                if data[name] is not None:
                    data[name] = _significant(data[name])
            return data

        per, batch_per = self.per_1000_pages(self.total), self.per_1000_pages(self.batch_total)
        return {
            "run": self.run,
            "prompt_id": self.prompt_id,
            "generated_at": self.generated_at,
            "currency": "USD",
            "pages": self.pages,
            "prices": self.prices,
            "lines": [rounded(line) for line in self.lines],
            "savings": [rounded(line) for line in self.savings],
            "total": {
                "cost": _significant(self.total),
                "per_1000_pages": None if per is None else _significant(per),
                "batch_cost": _significant(self.batch_total),
                "batch_per_1000_pages": None if batch_per is None else _significant(batch_per),
                "missing": self.missing,
            },
            "notes": self.notes,
        }


def _significant(value: float) -> float:
    """Counts stay integers; amounts keep ``_DIGITS`` significant digits."""
    if isinstance(value, int):
        return value
    return float(f"{value:.{_DIGITS}g}")


def build_ledger(
    measured: Measurements,
    prices: PriceTable,
    task: TaskSize,
    *,
    run: str,
    prompt_id: str,
    generated_at: str,
) -> Ledger:
    ledger = Ledger(run, prompt_id, generated_at, measured.pages, prices.origin,
                    notes=list(measured.notes))  # fmt: skip
    for use in measured.tokens:
        ledger.lines += _gemini(use, prices, "Gemini", "gemini")
    if measured.digest is not None:
        ledger.lines += _gemini(measured.digest, prices, "Digest", "digest")
    ledger.lines += _lambda(measured, prices)
    ledger.lines += _fargate(measured.markers, measured.missing_markers, prices, task)
    ledger.lines += _s3(measured, prices)
    for use in measured.reused:
        ledger.savings += _gemini(use, prices, "Reused answers (no model call)", "reused")
    if measured.reused_unvalued:
        ledger.notes.append(f"{measured.reused_unvalued} reused answer(s) not valued: the "
                            "result they reuse could not be read")  # fmt: skip
    return ledger


def _gemini(use: TokenUse, prices: PriceTable, label: str, key: str) -> list[Line]:
    price = prices.model(use.model)
    note = f"{use.answers} answer(s)"
    if use.model.startswith(FREE_MODEL_PREFIXES):  # the offline analyser: no model, no tokens
        item = "Offline analyser" if key == "gemini" else label
        return [Line(f"{key}/{use.model}", f"{item} {use.model} (no model call)",
                     use.answers, "answers", 0.0, "USD per answer", None, None, 0.0, 0.0,
                     "measured", f"{note}, 0 tokens")]  # fmt: skip
    lines = []
    for kind, tokens in (("input", use.input_tokens), ("output", use.output_tokens)):
        unit_price = batch_price = None
        if price is not None:
            unit_price = price.input_per_million if kind == "input" else price.output_per_million
            batch_price = price.batch_input if kind == "input" else price.batch_output
        lines.append(Line(
            key=f"{key}/{use.model}/{kind}",
            item=f"{label} {use.model}, {kind} tokens",
            quantity=tokens, unit="tokens",
            unit_price=unit_price, price_unit="USD per 1M tokens",
            as_of=price.as_of if price else None, source=price.source if price else None,
            cost=None if unit_price is None else tokens * unit_price / 1e6,
            batch_cost=None if batch_price is None else tokens * batch_price / 1e6,
            basis="measured" if price else "no price",
            note=note if price else f"{note}; no price for {use.model}: add it to "
            "RIVALSCOPE_PRICES_FILE",
        ))  # fmt: skip
    return lines


def _lambda(measured: Measurements, prices: PriceTable) -> list[Line]:
    records = measured.runtimes
    arch = max({r.architecture for r in records} or {"x86_64"})
    price = prices.lambda_.get(arch) or prices.lambda_["x86_64"]
    with_memory = [r for r in records if r.gb_seconds is not None]
    if not with_memory:
        why = (
            "runtime records without the configured memory"
            if records
            else "no runtime record: the chunks were analysed before the ledger existed, "
            "outside the Lambda handler (reanalyze --via local) or only by duplicate events"
        )
        return [_not_measured("lambda/compute", "Lambda analyser compute", "GB-seconds",
                              price.per_gb_second, "USD per GB-second", price.as_of,
                              price.source, why)]  # fmt: skip
    seconds = sum(r.duration_seconds for r in with_memory)
    gb_seconds = sum(r.gb_seconds or 0.0 for r in with_memory)
    memory = sorted({r.memory_mb or 0 for r in with_memory})
    sources = sorted({r.memory_source for r in with_memory})
    note = (f"{len(with_memory)} chunk analyses, {seconds:.1f} s at "
            f"{'/'.join(str(m) for m in memory)} MB ({', '.join(sources)}), {arch}")  # fmt: skip
    if len(with_memory) < len(records):
        note += f"; {len(records) - len(with_memory)} record(s) without memory left out"
    invocations = len({r.invocation for r in records})
    compute = gb_seconds * price.per_gb_second
    requests = invocations * price.per_million_requests / 1e6
    return [
        Line("lambda/compute", "Lambda analyser compute", gb_seconds, "GB-seconds",
             price.per_gb_second, "USD per GB-second", price.as_of, price.source, compute,
             compute, "measured", note),
        Line("lambda/requests", "Lambda analyser invocations", invocations, "requests",
             price.per_million_requests, "USD per 1M requests", price.as_of, price.source,
             requests, requests, "measured", "distinct invocations in the runtime records"),
    ]  # fmt: skip


def _fargate(
    markers: list[ShardMarker], missing: list[str], prices: PriceTable, task: TaskSize
) -> list[Line]:
    price = prices.fargate.get(task.architecture) or prices.fargate["x86_64"]
    size = f"{task.vcpu:g} vCPU / {task.memory_gb:g} GB {task.architecture}"
    if not markers or all(_wall_seconds(m) is None for m in markers):
        why = "no shard marker under the run's _done/: the crawl's time is unknown"
        return [
            _not_measured("fargate/vcpu", f"Fargate crawl CPU ({size})", "vCPU-seconds",
                          price.per_vcpu_hour, "USD per vCPU-hour", price.as_of, price.source,
                          why),
            _not_measured("fargate/memory", f"Fargate crawl memory ({size})", "GB-seconds",
                          price.per_gb_hour, "USD per GB-hour", price.as_of, price.source, why),
        ]  # fmt: skip
    timed = [(m, _wall_seconds(m)) for m in markers]
    walls = [wall for _, wall in timed if wall is not None]
    unreadable = [m for m, wall in timed if wall is None]
    markers = [m for m, wall in timed if wall is not None]
    billed = sum(max(FARGATE_MINIMUM_SECONDS, wall) for wall in walls)
    note = (f"{len(markers)} shard marker(s), wall time {sum(walls):.1f} s (billed "
            f"{billed:.1f} s: 1-minute minimum per task; image pull and start-up are not in "
            f"the markers), {sum(m.cpu_seconds for m in markers):.1f} CPU s used")  # fmt: skip
    if missing:
        note += f"; missing marker(s) {', '.join(missing)} not counted"
    if unreadable:
        note += f"; {len(unreadable)} marker(s) without readable start and end not counted"
    vcpu_s, gb_s = billed * task.vcpu, billed * task.memory_gb
    cpu_cost = vcpu_s / 3600 * price.per_vcpu_hour
    memory_cost = gb_s / 3600 * price.per_gb_hour
    return [
        Line("fargate/vcpu", f"Fargate crawl CPU ({size})", vcpu_s, "vCPU-seconds",
             price.per_vcpu_hour, "USD per vCPU-hour", price.as_of, price.source, cpu_cost,
             cpu_cost, "measured", note),
        Line("fargate/memory", f"Fargate crawl memory ({size})", gb_s, "GB-seconds",
             price.per_gb_hour, "USD per GB-hour", price.as_of, price.source, memory_cost,
             memory_cost, "measured", note),
    ]  # fmt: skip


def _s3(measured: Measurements, prices: PriceTable) -> list[Line]:
    price, stored = prices.s3, measured.stored
    analyses = len(measured.runtimes) or stored.chunks  # chunk analyses (one per chunk at least)
    puts = stored.objects + stored.results + analyses + 3
    gets = analyses + stored.chunks + 2 * stored.results + stored.markers
    gb_months = stored.bytes / GIB
    storage = gb_months * price.per_gb_month
    put_cost, get_cost = puts * price.per_1000_put / 1000, gets * price.per_1000_get / 1000
    how = ("estimated from object counts: one PUT per stored object, a claim per result, a "
           "listing per chunk analysis and 3 for the report")  # fmt: skip
    get_how = ("estimated from object counts: one read per chunk analysis and per report, a "
               "HEAD and a report read per result, one read per marker")  # fmt: skip
    return [
        Line("s3/storage", "S3 storage, one month", gb_months, "GB-months", price.per_gb_month,
             "USD per GB-month", price.as_of, price.source, storage, storage, "measured",
             f"{stored.bytes:,} bytes in {stored.objects} objects under the run's raw/, "
             "analysis/ and reports/ (raw/ expires after RawRetentionDays)"),
        Line("s3/put", "S3 PUT and LIST requests", puts, "requests", price.per_1000_put,
             "USD per 1,000 requests", price.as_of, price.source, put_cost, put_cost,
             "estimated", how),
        Line("s3/get", "S3 GET and HEAD requests", gets, "requests", price.per_1000_get,
             "USD per 1,000 requests", price.as_of, price.source, get_cost, get_cost,
             "estimated", get_how),
    ]  # fmt: skip


def _not_measured(
    key: str, item: str, unit: str, unit_price: float, price_unit: str, as_of: str,
    source: str, why: str,
) -> Line:  # fmt: skip
    return Line(key, item, None, unit, unit_price, price_unit, as_of, source, None, None,
                "not measured", why)  # fmt: skip


def _wall_seconds(marker: ShardMarker) -> float | None:
    """The task's wall time from its marker; None when the times cannot be read."""
    try:
        started = datetime.fromisoformat(marker.started_at)
        ended = datetime.fromisoformat(marker.ended_at)
        seconds = (ended - started).total_seconds()
    except (ValueError, TypeError):
        return None
    return seconds if seconds >= 0 else None
