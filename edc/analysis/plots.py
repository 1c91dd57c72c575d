"""The analysis report's figures as SVG bytes that reproduce byte for byte.

matplotlib is imported inside ``_pyplot`` (not at module import) so that ``edc --help`` does not
pay for it. Reproducibility: the Agg backend, one bundled font (DejaVu Sans), text kept as text
(no glyph paths with per-run ids), a fixed ``svg.hashsalt`` for the element ids and no Date in
the SVG metadata.
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "svg.fonttype": "none",
    "svg.hashsalt": "edc-analyze",
    "path.simplify": False,
}
_METADATA = {"Date": None, "Creator": "edc analyze"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(figure: Any) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata=_METADATA)
    plt.close(figure)
    return buffer.getvalue()


def mean_by_visit(
    title: str, visits: Sequence[str], values: Mapping[str, Mapping[str, Sequence[float]]]
) -> bytes:
    """Mean by visit and arm with a 95% t-interval; ``values[arm][visit]`` are the subjects'."""
    from scipy import stats

    plt = _pyplot()
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(figsize=(6.0, 3.6))
        for offset, (arm, by_visit) in enumerate(sorted(values.items())):
            xs, means, errors = [], [], []
            for index, visit in enumerate(visits):
                points = by_visit.get(visit, ())
                if not points:
                    continue
                xs.append(index + 0.08 * (offset - 0.5))
                means.append(statistics.fmean(points))
                half = 0.0
                if len(points) > 1:
                    quantile = float(stats.t.ppf(0.975, len(points) - 1))
                    half = quantile * statistics.stdev(points) / math.sqrt(len(points))
                errors.append(half)
            axes.errorbar(xs, means, yerr=errors, marker="o", capsize=3, label=arm)
        axes.set_xticks(range(len(visits)), list(visits), rotation=30, ha="right")
        axes.set_ylabel(f"mean {title} (95% CI)")
        axes.set_title(title)
        if values:
            axes.legend()
        figure.tight_layout()
        return _svg(figure)


def consort(stages: Sequence[Sequence[str]]) -> bytes:
    """The flow as boxes: the study-wide stages on top, then one column per arm.

    :param stages: (stage, arm or "" for the whole study, subjects) in flow order.
    """
    plt = _pyplot()
    with plt.rc_context(_STYLE):
        arms = sorted({arm for _, arm, _ in stages if arm})
        common = [(stage, n) for stage, arm, n in stages if not arm]
        figure, axes = plt.subplots(figsize=(6.0, 4.2))
        axes.set_axis_off()
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        box = {"boxstyle": "round", "facecolor": "white", "edgecolor": "black"}
        y = 0.92
        for stage, n in common:
            axes.text(0.5, y, f"{stage}: {n}", ha="center", va="center", bbox=box)
            y -= 0.14
        top = y
        for column, arm in enumerate(arms):
            x = (column + 0.5) / max(len(arms), 1)
            axes.annotate("", (x, top + 0.04), (0.5, top + 0.1), arrowprops={"arrowstyle": "->"})
            y = top
            for stage, of_arm, n in stages:
                if of_arm == arm:
                    axes.text(x, y, f"{arm}\n{stage}: {n}", ha="center", va="center", bbox=box)
                    y -= 0.17
        axes.set_title("CONSORT flow")
        return _svg(figure)


def grades_by_arm(counts: Mapping[str, Mapping[str, int]]) -> bytes:
    """Adverse events per CTCAE grade, bars side by side per arm; ``counts[arm][grade]``."""
    plt = _pyplot()
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(figsize=(6.0, 3.2))
        grades = sorted({g for by_grade in counts.values() for g in by_grade}) or ["none"]
        arms = sorted(counts)
        width = 0.8 / max(len(arms), 1)
        for index, arm in enumerate(arms):
            xs = [g + index * width for g in range(len(grades))]
            axes.bar(xs, [counts[arm].get(g, 0) for g in grades], width=width, label=arm)
        axes.set_xticks(
            [g + width * (len(arms) - 1) / 2 for g in range(len(grades))],
            [f"grade {g}" for g in grades],
        )
        axes.set_ylabel("events")
        axes.set_title("Adverse events by CTCAE grade and arm")
        if arms:
            axes.legend()
        figure.tight_layout()
        return _svg(figure)
