"""`edc analyze`: the protocol's analysis plan run on the locked data, as tables and a report.

The unblinded statistician's command (arms are compared), on a locked blinded study only once
it was unblinded (``edc lock unblind``, signed). Endpoints of the plan are analysed in
its population (ITT or per-protocol flags of ADSL) at their visit: between arms by the plan's
test (``edc.analysis.estimates``), and within each arm by the Wilcoxon signed-rank test of the
change; where the plan defines responders, the responder rates and their difference with its
CI (``responders.csv``). Also written: the CONSORT flow by arm and adverse events by arm, term
and worst grade.
Every table is CSV plus one HTML report with SVG figures (mean by visit and arm with 95% CI per
endpoint, the CONSORT diagram, AE grades by arm; ``edc.analysis.plots``); numbers are formatted
with fixed precision and the figures made reproducible, so the same lock gives the same bytes.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import html
import io
from collections.abc import Sequence
from pathlib import Path

from edc import config, errors
from edc.actions import export
from edc.actions.workspace import Workspace
from edc.analysis import estimates, plots
from edc.export.tables import Dataset
from edc.protocol import Protocol
from edc.trial import permissions
from edc.trial.permissions import Action

REPORT = "report.html"
_CONTROL_TYPES = ("placebo-comparator", "sham-comparator", "active-comparator", "no-intervention")


@dataclasses.dataclass(frozen=True)
class AnalyzeRequest:
    study: str
    out: Path
    snapshot: bool = False
    endpoint: str | None = None


@dataclasses.dataclass(frozen=True)
class AnalyzeResult:
    study: str
    out: Path
    locked: bool
    primary: str
    report: Path
    files: tuple[export.ExportedFile, ...]


def analyze(
    settings: config.Settings, workspace: Workspace, request: AnalyzeRequest
) -> AnalyzeResult:
    """:raises errors.BadInputError: (exit 2, nothing written) an unknown study or endpoint, a
    study not locked without ``snapshot``, a locked blinded study not yet unblinded, a blinded
    role, or an output folder with files."""
    if request.out.exists() and any(request.out.iterdir()):
        raise errors.BadInputError(f"{request.out} is not empty", "analyze into a new folder")
    with workspace.transaction() as session:
        study = workspace.study(session, request.study)
        plan = study.protocol.analysis
        endpoints = [e for e in plan.endpoints if request.endpoint in (None, e.id)]
        if not endpoints:
            known = ", ".join(e.id for e in plan.endpoints)
            raise errors.BadInputError(
                f"{study.code} has no endpoint {request.endpoint!r} in its analysis: section",
                f"endpoints: {known}",
            )
        actor = workspace.act(session, study, Action.EXPORT, None)
        if not permissions.may_see_arms(actor.grants, study.blinding):
            raise errors.BadInputError(
                f"{workspace.username} may not analyse by arm in {study.code}: {actor.grant} "
                "is blinded",
                "the unblinded statistician runs edc analyze",
            )
        locked = export.study_lock(session, study) is not None
        if not locked and not request.snapshot:
            raise errors.BadInputError(
                f"{study.code} is not locked: nothing analysed",
                "lock it first, or --snapshot for an interim look (marked as such)",
            )
        if locked and not request.snapshot and not export.arms_open(session, study):
            raise errors.BadInputError(
                f"{study.code} is not unblinded: nothing analysed by arm",
                f"the unblinded statistician unblinds it first (edc lock unblind --study "
                f"{study.code}), or --snapshot for an interim look",
            )
        datasets = {d.name: d for d in export.build_datasets(session, study, show_arms=True)}
    arms = _arms(study.protocol)
    family_of = {(f.category, f.item): f.name for f in export.families(study)}
    adsl = {row[1]: row for row in datasets["adsl"].rows}
    flag = 12 if plan.population == "per-protocol" else 11  # BDS PPROTFL or ITTFL
    between: list[estimates.Estimate] = []
    rates: list[estimates.Responders] = []
    within: list[estimates.WithinArm] = []
    before_after: list[tuple[str, str, str, estimates.PrePost]] = []
    figures: dict[str, bytes] = {}
    visit_order = [v.id for v in study.protocol.schedule.visits]
    for endpoint in endpoints:
        measure = endpoint.measure
        name = family_of[(f"{study.code.lower()}-{measure.form}", measure.item)]
        figure = _by_visit(measure.item, datasets[name], visit_order)
        figures.setdefault(f"{name}_by_visit.svg", figure)
        data = [
            estimates.Observation(row[2], float(row[7]), float(row[8]), adsl[row[1]][6])
            for row in datasets[name].rows
            if row[5] == measure.visit and row[7] and row[8] and row[flag] == "Y"
        ]
        if endpoint.test == "mixed-model" and endpoint.visits:
            repeated = [
                estimates.Repeated(
                    row[1],
                    row[5],
                    estimates.Observation(row[2], float(row[7]), float(row[8]), adsl[row[1]][6]),
                )
                for row in datasets[name].rows
                if row[5] in endpoint.visits and row[7] and row[8] and row[flag] == "Y"
            ]
            between.append(
                estimates.mixed_model(endpoint.id, repeated, measure.visit, arms, plan.alpha)
            )
        else:
            between.append(
                estimates.between_arms(endpoint.id, endpoint.test, data, arms, plan.alpha)
            )
        if endpoint.responder is not None:
            rule = estimates.ResponderRule(
                endpoint.responder.improvement, endpoint.responder.points,
                endpoint.responder.percent, endpoint.responder.combine,
            )  # fmt: skip
            rates.append(
                estimates.responders(endpoint.id, rule, data, arms, plan.alpha, endpoint.test)
            )
        within += [estimates.within_arm(endpoint.id, arm, data) for arm in arms]
        if endpoint.summary == "change-from-baseline":
            visits = (measure.baseline_visit or "", measure.visit)
            before_after += [
                (*visits, arm, estimates.pre_post(endpoint.id, arm, data)) for arm in arms
            ]
    tables = {
        "estimates.csv": _estimates_table(between),
        "within_arm.csv": _within_table(within),
        **({"responders.csv": _responders_table(rates)} if rates else {}),
        "pre_post.csv": _pre_post_table(before_after),
        "consort.csv": _consort(datasets["adsl"], arms),
        "adverse_events.csv": _adverse_events(datasets["adae"]),
    }
    primary_id = next((e.id for e in endpoints if e.kind == "primary"), endpoints[0].id)
    primary = next(e for e in between if e.endpoint == primary_id)
    line = _primary_line(primary, plan.alpha)
    request.out.mkdir(parents=True, exist_ok=True)
    figures["consort.svg"] = plots.consort(tables["consort.csv"][1:])
    figures["ae_grades.svg"] = plots.grades_by_arm(_grades(datasets["adae"]))
    files = [_write(request.out, name, _csv(rows)) for name, rows in tables.items()]
    files += [_write(request.out, name, svg) for name, svg in figures.items()]
    report = _report(study.code, locked, line, tables, figures)
    files.append(_write(request.out, REPORT, report))
    return AnalyzeResult(study.code, request.out, locked, line, request.out / REPORT, tuple(files))


def _by_visit(item: str, bds: Dataset, visit_order: Sequence[str]) -> bytes:
    """The BDS values (AVAL at 6) of the ITT set (ITTFL at 11) by arm and visit."""
    values: dict[str, dict[str, list[float]]] = {}
    for row in bds.rows:
        if row[6] and row[11] == "Y" and row[2]:
            values.setdefault(row[2], {}).setdefault(row[5], []).append(float(row[6]))
    seen = {visit for by_visit in values.values() for visit in by_visit}
    visits = [v for v in visit_order if v in seen] + sorted(seen - set(visit_order))
    return plots.mean_by_visit(item, visits, values)


def _grades(adae: Dataset) -> dict[str, dict[str, int]]:
    """Events per arm (TRT01P at 2) and CTCAE grade (AETOXGR at 5)."""
    counts: dict[str, dict[str, int]] = {}
    for row in adae.rows:
        by_grade = counts.setdefault(row[2], {})
        by_grade[row[5] or "?"] = by_grade.get(row[5] or "?", 0) + 1
    return counts


def _arms(protocol: Protocol) -> tuple[str, str]:
    """(reference, compared): the control arm first, else the last arm."""
    ids = [arm.id for arm in protocol.arms]
    control = next((a.id for a in protocol.arms if a.type in _CONTROL_TYPES), ids[-1])
    compared = next(a for a in ids if a != control)
    return control, compared


def _number(value: float | None, places: int = 4) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _estimates_table(rows: Sequence[estimates.Estimate]) -> list[tuple[str, ...]]:
    header: tuple[str, ...] = (
        "endpoint", "test", "reference", "compared", "n_reference", "n_compared",
        "estimate", "ci_low", "ci_high", "p_value",
    )  # fmt: skip
    return [header] + [
        (e.endpoint, e.test, e.reference, e.compared, str(e.n_reference), str(e.n_compared),
         _number(e.estimate), _number(e.ci_low), _number(e.ci_high), _number(e.p_value))
        for e in rows
    ]  # fmt: skip


def _responders_table(rows: Sequence[estimates.Responders]) -> list[tuple[str, ...]]:
    """Responder rates per arm and their difference (compared - reference) with its CI."""
    header: tuple[str, ...] = (
        "endpoint", "reference", "compared", "n_reference", "responders_reference",
        "n_compared", "responders_compared", "rate_difference", "ci_low", "ci_high", "test",
        "p_value",
    )  # fmt: skip
    return [header] + [
        (r.endpoint, r.reference, r.compared, str(r.n_reference), str(r.responders_reference),
         str(r.n_compared), str(r.responders_compared), _number(r.difference), _number(r.ci_low),
         _number(r.ci_high), r.test, _number(r.p_value))
        for r in rows
    ]  # fmt: skip


def _within_table(rows: Sequence[estimates.WithinArm]) -> list[tuple[str, ...]]:
    header: tuple[str, ...] = (
        "endpoint", "arm", "n", "mean_baseline", "mean_change", "wilcoxon_p",
    )  # fmt: skip
    return [header] + [
        (w.endpoint, w.arm, str(w.n), _number(w.mean_base), _number(w.mean_change),
         _number(w.p_value))
        for w in rows
    ]  # fmt: skip


def _pre_post_table(
    rows: Sequence[tuple[str, str, str, estimates.PrePost]],
) -> list[tuple[str, ...]]:
    """Per endpoint and arm, before and after as mean and SD with the Wilcoxon signed-rank test:
    the single-arm table of the seed papers (e.g. VAS and ODI before and one week after)."""
    header: tuple[str, ...] = (
        "endpoint", "arm", "before_visit", "after_visit", "n", "before_mean", "before_sd",
        "after_mean", "after_sd", "wilcoxon_statistic", "p_value",
    )  # fmt: skip
    table = [header]
    for before_visit, after_visit, _, p in rows:
        before = p.before or (None, None)
        after = p.after or (None, None)
        table.append(
            (p.endpoint, p.arm, before_visit, after_visit, str(p.n), _number(before[0], 2),
             _number(before[1], 2), _number(after[0], 2), _number(after[1], 2),
             _number(p.statistic, 1), _number(p.p_value))
        )  # fmt: skip
    return table


def _consort(adsl: Dataset, arms: Sequence[str]) -> list[tuple[str, ...]]:
    """Enrolled, then per arm: randomized, in the safety set, per-protocol."""
    rows: list[tuple[str, ...]] = [("stage", "arm", "subjects")]
    rows.append(("enrolled", "", str(len(adsl.rows))))
    rows.append(("not randomized", "", str(sum(1 for r in adsl.rows if r[8] != "Y"))))
    for arm in arms:
        mine = [r for r in adsl.rows if r[4] == arm]
        rows.append(("randomized (ITT)", arm, str(sum(1 for r in mine if r[8] == "Y"))))
        rows.append(("safety", arm, str(sum(1 for r in mine if r[9] == "Y"))))
        rows.append(("per-protocol", arm, str(sum(1 for r in mine if r[10] == "Y"))))
    return rows


def _adverse_events(adae: Dataset) -> list[tuple[str, ...]]:
    """Per arm and CTCAE term: events, subjects, worst grade."""
    by: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for row in adae.rows:
        by.setdefault((row[2], row[4]), []).append((row[1], row[5]))
    rows: list[tuple[str, ...]] = [("arm", "ctcae_term", "events", "subjects", "worst_grade")]
    for (arm, term), events in sorted(by.items()):
        worst = max((g for _, g in events if g), default="")
        rows.append((arm, term, str(len(events)), str(len({s for s, _ in events})), worst))
    return rows


def _primary_line(primary: estimates.Estimate, alpha: float) -> str:
    if primary.estimate is None:
        return f"primary {primary.endpoint}: too few subjects to estimate"
    level = round((1 - alpha) * 100)
    ci = (
        f", {level}% CI {primary.ci_low:.2f} to {primary.ci_high:.2f}"
        if primary.ci_low is not None and primary.ci_high is not None
        else ""
    )
    p = ""
    if primary.p_value is not None:
        p = ", p < 0.0001" if primary.p_value < 0.0001 else f", p = {primary.p_value:.4f}"
    return (
        f"primary {primary.endpoint} ({primary.test}): {primary.compared} vs "
        f"{primary.reference} {primary.estimate:+.2f}{ci}{p} "
        f"(n = {primary.n_compared} vs {primary.n_reference})"
    )


def _csv(rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def _write(out: Path, name: str, data: bytes) -> export.ExportedFile:
    (out / name).write_bytes(data)
    return export.ExportedFile(name, hashlib.sha256(data).hexdigest(), data.count(b"\n"))


def _report(
    study: str,
    locked: bool,
    primary: str,
    tables: dict[str, list[tuple[str, ...]]],
    figures: dict[str, bytes],
) -> bytes:
    e = html.escape
    state = "locked data" if locked else "SNAPSHOT of data that is not locked"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Analysis: {e(study)}</title></head><body>",
        f"<h1>{e(study)}: analysis of the {state}</h1>",
        f"<p><b>{e(primary)}</b></p>",
    ]
    for name, rows in tables.items():
        parts.append(f"<h2>{e(name.removesuffix('.csv').replace('_', ' '))}</h2><table>")
        header, *body = rows
        parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in header) + "</tr>")
        for row in body:
            parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    for name, svg in figures.items():
        # Inline SVG (without its XML prologue) so the report is one self-contained file.
        text = svg.decode()
        parts.append(f"<h2>{e(name.removesuffix('.svg').replace('_', ' '))}</h2>")
        parts.append(f"<figure>{text[text.index('<svg') :]}</figure>")
    parts.append("</body></html>\n")
    return "\n".join(parts).encode()
