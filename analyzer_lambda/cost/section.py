"""The report's **Cost** section (``ReportSections.cost``): the ledger as an HTML table, each
line with its quantity, unit price, price date, source and cost at standard and Batch prices;
the total and the cost per 1,000 pages; reused answers as savings. Pure.

Model names, notes and sources can come from a prices file or stored records, so every value
goes through ``html.escape`` and only ``http(s)`` sources become links. No inline style or
script: the classes are in the report's stylesheet (``report.css``, "cost ledger")."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from analyzer_lambda.cost.ledger import Ledger, Line

_COLUMNS = ("Item", "Quantity", "Unit price", "Price as of", "Source", "Cost",
            "With Batch prices")  # fmt: skip


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def usd(amount: float | None) -> str:
    """Dollars readable at every scale a run has: cents for whole dollars, more digits below."""
    if amount is None:
        return "—"
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    if abs(amount) >= 0.01:
        return f"${amount:.4f}"
    if abs(amount) < 0.0000005:
        return "< $0.000001"
    return f"${amount:.6f}"


def _decimal(value: float) -> str:
    """``0.0000166667``, not ``1.66667e-05``: prices as the vendors print them."""
    return f"{value:.10f}".rstrip("0").rstrip(".") or "0"


def _quantity(line: Line) -> str:
    if line.quantity is None:
        return '<span class="none">not measured</span>'
    value = line.quantity
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"
    return f"{_esc(text)} {_esc(line.unit)}"


def _source(source: str | None) -> str:
    if not source:
        return '<span class="none">—</span>'
    if urlsplit(source).scheme.lower() in ("http", "https"):
        parts = urlsplit(source)
        host = f"{parts.hostname or ''}{parts.path.rstrip('/')}" or source
        return (f'<a href="{_esc(source)}" target="_blank" rel="noopener noreferrer nofollow">'
                f"{_esc(host)}</a>")  # fmt: skip
    return _esc(source)


def _row(line: Line) -> str:
    price = "—" if line.unit_price is None else (
        f"${_decimal(line.unit_price)} {line.price_unit.removeprefix('USD ')}"
    )  # fmt: skip
    basis = "" if line.basis == "measured" else f' <span class="basis">{_esc(line.basis)}</span>'
    note = f'<span class="note">{_esc(line.note)}</span>' if line.note else ""
    return (
        f'<tr class="{_esc(line.basis.replace(" ", "-"))}">'
        f"<td>{_esc(line.item)}{basis}{note}</td><td>{_quantity(line)}</td>"
        f"<td>{_esc(price)}</td><td>{_esc(line.as_of or '—')}</td>"
        f"<td>{_source(line.source)}</td><td>{usd(line.cost)}</td>"
        f"<td>{usd(line.batch_cost)}</td></tr>"
    )


def render_cost_section(ledger: Ledger) -> str:
    head = "".join(f'<th scope="col">{name}</th>' for name in _COLUMNS)
    per = ledger.per_1000_pages(ledger.total)
    batch_per = ledger.per_1000_pages(ledger.batch_total)
    stats = (
        f'<div class="stat"><b>{usd(ledger.total)}</b>this run</div>'
        f'<div class="stat"><b>{usd(per)}</b>per 1,000 pages</div>'
        f'<div class="stat"><b>{usd(ledger.batch_total)}</b>with Batch prices</div>'
        f'<div class="stat"><b>{usd(batch_per)}</b>per 1,000 pages, Batch</div>'
    )
    foot = (
        f'<tr><td colspan="5">Total ({ledger.pages:,} pages)</td>'
        f"<td>{usd(ledger.total)}</td><td>{usd(ledger.batch_total)}</td></tr>"
        f'<tr><td colspan="5">Per 1,000 pages</td><td>{usd(per)}</td>'
        f"<td>{usd(batch_per)}</td></tr>"
    )
    parts = [
        '<section class="summary cost" id="cost" aria-labelledby="cost-title">',
        '<h2 id="cost-title">Cost</h2>',
        (
            f'<p class="muted">USD, from measurements of this run; prices: '
            f"{_esc(ledger.prices)}. The Batch column prices the Gemini lines at the Batch "
            "API's rates; the rest is the same either way.</p>"
        ),
        f'<div class="totals">{stats}</div>',
        f'<table class="cost"><thead><tr>{head}</tr></thead><tbody>',
        "\n".join(_row(line) for line in ledger.lines),
        f"</tbody><tfoot>{foot}</tfoot></table>",
    ]
    if ledger.missing:
        parts.append(
            '<p class="notice">Not in the total (not measured or no price): '
            f"{_esc(', '.join(ledger.missing))}.</p>"
        )
    if ledger.savings:
        saved = sum(line.cost or 0.0 for line in ledger.savings)
        parts += [
            f"<h3>Savings: unchanged pages reused their answer ({usd(saved)})</h3>",
            f'<table class="cost"><thead><tr>{head}</tr></thead><tbody>',
            "\n".join(_row(line) for line in ledger.savings),
            "</tbody></table>",
        ]
    parts += [f'<p class="muted">{_esc(note)}</p>' for note in ledger.notes]
    parts.append("</section>")
    return "\n".join(parts)
