"""`edc monitor run|list|confirm|dismiss`: protocol deviations found from the data."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption

if TYPE_CHECKING:
    from edc.actions.monitor import DeviationLine, DeviationList, MonitorRunResult

app = typer.Typer(no_args_is_help=True, short_help="find protocol deviations and review them")
app.info.help = (
    "The deviation engine compares the synced EHR dates with the protocol: visits out of "
    "window or missed, visits and forms before consent, randomization before consent or "
    "eligibility sign-off, missing forms, forms after withdrawal, late serious adverse event "
    "reports, grade >= 3 events without outcome. It runs after every sync and on demand; the "
    "same finding keeps its one row, and findings whose cause is gone resolve themselves. "
    "The protocol's edit checks run with it: each failing one has a data query (origin "
    "edit_check) that closes itself when corrected data arrive."
)

SiteOption = Annotated[str | None, typer.Option("--site", metavar="ID", help="one site only")]
ReasonOption = Annotated[str, typer.Option("--reason", metavar="TEXT", help="why (audited)")]
DeviationId = Annotated[int, typer.Argument(metavar="ID", help="the deviation's id")]

RUN_VIEW: render.View[MonitorRunResult] = render.View(
    sections=(render.Section("open_by_kind"),),
    headline=lambda r: (
        f"{r.found:,} deviations found: {r.opened} new, {r.resolved} resolved, "
        f"{r.reopened} reopened, {r.updated} updated; edit checks: {r.checks_failing:,} "
        f"failing, queries {r.queries_opened} opened, {r.queries_closed} closed, "
        f"{r.queries_reopened} reopened"
    ),
)
LIST_VIEW: render.View[DeviationList] = render.View(
    sections=(
        render.Section(
            "deviations",
            columns=("id", "site", "subject", "kind", "severity", "status", "description"),
        ),
    ),
    headline=lambda r: f"{len(r.deviations):,} deviations",
)
LINE_VIEW: render.View[DeviationLine] = render.View(
    headline=lambda r: f"deviation {r.id} ({r.kind}, {r.subject}) is {r.status}"
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="monitor")


@app.command()
def run(study: StudyOption, fmt: FormatOption = render.Format.table) -> None:
    """Run the deviation engine and the edit checks now (both also run after every sync)."""
    from edc.actions import monitor
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = monitor.run(workspace, study)
    state.emit(result, fmt, RUN_VIEW)


@app.command("list")
def list_(
    study: StudyOption,
    site: SiteOption = None,
    status: Annotated[
        str | None, typer.Option("--status", metavar="STATUS", help="open, confirmed, ...")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", metavar="KIND")] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """List the study's deviations with their evidence."""
    from edc.actions import monitor
    from edc.actions.workspace import Workspace

    request = monitor.ListRequest(study=study, site=site, status=status, kind=kind)
    with Workspace.open(state.settings()) as workspace:
        result = monitor.list_deviations(workspace, request)
    state.emit(result, fmt, LIST_VIEW)


def _review(study: str, deviation: int, status: str, reason: str, fmt: render.Format) -> None:
    from edc.actions import monitor
    from edc.actions.workspace import Workspace

    request = monitor.ReviewRequest(study, deviation, status, reason)
    with Workspace.open(state.settings()) as workspace:
        result = monitor.review(workspace, request)
    state.emit(result, fmt, LINE_VIEW)


@app.command()
def confirm(
    study: StudyOption,
    deviation: DeviationId,
    reason: ReasonOption,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Confirm a deviation (a monitor or data manager; audited with the reason)."""
    _review(study, deviation, "confirmed", reason, fmt)


@app.command()
def dismiss(
    study: StudyOption,
    deviation: DeviationId,
    reason: ReasonOption,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Dismiss a deviation as not one (a monitor or data manager; audited with the reason)."""
    _review(study, deviation, "dismissed", reason, fmt)


class ReportFormat(enum.StrEnum):
    text = "text"
    json = "json"
    html = "html"


@app.command()
def report(
    study: StudyOption,
    site: SiteOption = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="text, json, or html with plots")
    ] = ReportFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="write it here")
    ] = None,
) -> None:
    """Per site: enrolment, deviations per 100 visits, queries, SAE timeliness, SDV; KRIs."""
    from edc.actions import monitor_report, report_html
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        result = monitor_report.report(workspace, study, site)
    if fmt == ReportFormat.json:
        import orjson

        text = orjson.dumps(render.to_data(result), option=orjson.OPT_INDENT_2).decode() + "\n"
    elif fmt == ReportFormat.html:
        text = report_html.render(result)
    else:
        text = "\n".join(result.lines()) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        state.say(f"monitoring report written to {output}")
