"""Plots drawn as inline SVG on the server: no plotting library or script in the browser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

# Colour-blind safe (Okabe-Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 150, 16, 36


def enrollment_svg(
    series: Mapping[str, Sequence[tuple[dt.date, int]]],
    targets: Mapping[str, int | None],
    today: dt.date,
) -> Markup:
    """Cumulative enrollment per site as step lines, each site's target as a dashed line."""
    days = [day for points in series.values() for day, _ in points]
    start = min(days, default=today - dt.timedelta(days=30))
    end = max(today, start + dt.timedelta(days=1))
    top = max(
        [n for points in series.values() for _, n in points]
        + [t for t in targets.values() if t]
        + [1]
    )
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return LEFT + plot_w * (day - start).days / (end - start).days

    def y(n: float) -> float:
        return TOP + plot_h * (1 - n / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="enrollment-title" class="plot">',
        '<title id="enrollment-title">Enrollment over time per site, against target</title>',
        f'<line x1="{LEFT}" y1="{y(0)}" x2="{LEFT + plot_w}" y2="{y(0)}" class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y(0)}" class="axis"/>',
    ]
    for tick in _ticks(top):
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
    for day in (start, start + (end - start) / 2, end):
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
            f"{day.isoformat()}</text>"
        )
    for index, (site, points) in enumerate(sorted(series.items())):
        colour = COLOURS[index % len(COLOURS)]
        path = [(x(start), y(0))]
        previous = 0
        for day, n in points:
            path += [(x(day), y(previous)), (x(day), y(n))]
            previous = n
        path.append((x(end), y(previous)))
        coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in path)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="2"><title>site {escape(site)}: {previous}</title></polyline>'
        )
        target = targets.get(site)
        if target:
            parts.append(
                f'<line x1="{LEFT}" y1="{y(target):.1f}" x2="{LEFT + plot_w}" '
                f'y2="{y(target):.1f}" stroke="{colour}" stroke-dasharray="6 4">'
                f"<title>site {escape(site)} target {target}</title></line>"
            )
        legend_y = TOP + 18 * index + 8
        label = f"site {site}: {previous}" + (f" / {target}" if target else "")
        parts.append(
            f'<line x1="{WIDTH - RIGHT + 12}" y1="{legend_y}" x2="{WIDTH - RIGHT + 32}" '
            f'y2="{legend_y}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{WIDTH - RIGHT + 38}" y="{legend_y + 4}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built here from escaped values only


def _ticks(top: int) -> list[int]:
    step = max(1, round(top / 4))
    return list(range(0, top + 1, step))
