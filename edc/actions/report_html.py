"""The monitor's report as one self-contained HTML page with plots (inline SVG).

Two plots a monitor reads at a glance: the deviation rate per site (per 100 subject-visits,
with the protocol's threshold as a line; flagged sites in red) and the age of open queries per
site. The SVG is drawn here, in a fixed font and without timestamps or random ids, so the same
report gives the same bytes (a document that can be checked into a trial master file).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from edc.actions.monitor_report import MonitorReport

_FONT = "DejaVu Sans, Arial, sans-serif"
_W, _BAR, _GAP, _LEFT = 520, 22, 10, 60


def _bars(
    title: str, rows: Sequence[tuple[str, float, bool]], threshold: float | None, unit: str
) -> str:
    top = max([v for _, v, _ in rows] + [threshold or 0.0, 1.0])
    height = 40 + len(rows) * (_BAR + _GAP)
    scale = (_W - _LEFT - 70) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'font-family="{_FONT}" font-size="12" role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    for n, (label, value, flagged) in enumerate(rows):
        y = 28 + n * (_BAR + _GAP)
        colour = "#c0392b" if flagged else "#2e6da4"
        parts.append(f'<text x="0" y="{y + 15}">{html.escape(label)}</text>')
        parts.append(
            f'<rect x="{_LEFT}" y="{y}" width="{value * scale:.1f}" height="{_BAR}" '
            f'fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{_LEFT + value * scale + 4:.1f}" y="{y + 15}">{value:g} {unit}</text>'
        )
    if threshold is not None:
        x = _LEFT + threshold * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 4}" stroke="#555" '
            'stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def render(report: MonitorReport) -> str:
    """The whole page."""
    limits_rate = next(
        (
            i.threshold
            for s in report.sites
            for i in s.indicators
            if i.name == "deviations_per_100_visits"
        ),
        None,
    )
    rates = [
        (
            f"site {s.site}",
            s.deviations_per_100_visits or 0.0,
            "deviations_per_100_visits" in s.flagged,
        )
        for s in report.sites
    ]
    ages = [
        (
            f"site {s.site}",
            float(s.oldest_open_query_days or 0),
            "open_query_oldest_days" in s.flagged,
        )
        for s in report.sites
    ]
    age_limit = next(
        (
            i.threshold
            for s in report.sites
            for i in s.indicators
            if i.name == "open_query_oldest_days"
        ),
        None,
    )
    body = [
        f"<h1>Monitoring report: {html.escape(report.study)}</h1>",
        f"<p>as of {report.generated_at:%Y-%m-%d %H:%M} UTC</p>",
        _bars("Deviations per 100 subject-visits", rates, limits_rate, ""),
        _bars("Oldest open query (days)", ages, age_limit, "d"),
        "<pre>" + html.escape("\n".join(report.lines())) + "</pre>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Monitoring report {html.escape(report.study)}</title>"
        f"<style>body{{font-family:{_FONT};margin:2em}}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
