"""`edc scheduler add|list|remove|run`: scheduled syncs, stored in the warehouse."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, ServerFlags, include
from edc.cli.sync_cmd import SourceFlags

app = typer.Typer(
    no_args_is_help=True, short_help="run syncs on a schedule (jobs stored in the warehouse)"
)
app.info.help = (
    "Run syncs on a schedule. Jobs are kept in the warehouse (table scheduled_job, audited), so "
    "they survive restarts and every scheduler process sees them. Several `edc scheduler run` "
    "processes may share one warehouse: a lease in the database keeps each job from running "
    "twice at once. A failed run is logged, recorded, and tried again at the next interval; a "
    "run past its --time-limit (default 6 hours) is stopped."
)
JobId = Annotated[str, typer.Argument(metavar="ID", help="the job id (see `edc scheduler list`)")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="scheduler")


@dataclasses.dataclass(frozen=True)
class JobRow:
    """One scheduled job as `edc scheduler list` shows it (``every`` in seconds)."""

    job_id: str
    study: str
    source: str
    every: str
    every_seconds: float
    next_run: dt.datetime | None
    last_outcome: str | None
    last_message: str | None
    running_on: str | None


@app.command()
@include(ServerFlags, "server")
@include(SourceFlags, "what")
def add(
    what: SourceFlags,
    server: ServerFlags,
    every: Annotated[str, typer.Option(metavar="INTERVAL", help="e.g. 30s, 15m, 2h, 1d")],
    job_id: Annotated[
        str | None, typer.Option("--id", metavar="ID", help="job id (default: derived)")
    ] = None,
) -> None:
    """Schedule a sync of one study from one source.

    Stores a job that runs `edc sync` with these options every INTERVAL; a job with the same id
    is replaced. SMART settings are stored with the job (the key file's path, never the key).
    Exit 2 if the options are wrong or the study is not registered.
    """
    from edc.actions import scheduler

    interval = scheduler.parse_every(every)
    settings = state.settings()
    stored = scheduler.add(settings, what.request(settings, server), interval, job_id=job_id)
    state.say(f"scheduled {stored}: sync {what.study} every {every}")


@app.command("list")
def list_(fmt: FormatOption = render.Format.table) -> None:
    """Show the scheduled jobs and how their last run went."""
    from edc.actions import scheduler

    rows = [
        JobRow(
            job_id=item.job_id,
            study=item.schedule.study_code,
            source=item.source,
            every=scheduler.every_text(item.schedule.every),
            every_seconds=item.schedule.every.total_seconds(),
            next_run=item.next_run,
            last_outcome=item.last_outcome,
            last_message=item.last_message,
            running_on=item.holder,
        )
        for item in scheduler.list_schedules(state.settings())
    ]
    view = render.View[list[JobRow]](
        sections=(render.Section("", columns=_LIST_COLUMNS),),
        headline=lambda jobs: [] if jobs else ["no scheduled jobs"],
    )
    state.emit(rows, fmt, view)


_LIST_COLUMNS = ("job_id", "study", "source", "every", "next_run", "last_outcome", "running_on")


@app.command()
def remove(job_id: JobId) -> None:
    """Delete a scheduled job."""
    from edc.actions import scheduler

    scheduler.remove(state.settings(), job_id)
    state.say(f"removed {job_id}")


@app.command()
def run(
    duration: Annotated[
        float | None, typer.Option("--for", metavar="SECONDS", help="stop after this long")
    ] = None,
) -> None:
    """Run the scheduled jobs until stopped (SIGTERM, Ctrl-C).

    Runs every job stored in the warehouse at its interval, reading new jobs as they are added,
    until SIGTERM or Ctrl-C (or --for). A run that fails is logged and recorded (see `edc
    scheduler list`) and tried again at the next interval; a run still going when its next one
    is due is not started twice, in this or another process.
    """
    from edc import config
    from edc.actions import scheduler

    settings = state.settings()
    # Each job loads the settings anew (in its worker thread), from the environment: hand it
    # this command line's --config and --user that way, so jobs act with the same settings.
    invocation = state.current()
    if invocation.config_file is not None:
        os.environ[config.CONFIG_ENV] = str(invocation.config_file.resolve())
    if invocation.user is not None:
        os.environ[f"{config.ENV_PREFIX}USER"] = invocation.user
    scheduler.run(settings, duration=duration)
