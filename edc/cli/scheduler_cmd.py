"""`edc scheduler add|list|remove|run`: scheduled syncs, stored in the warehouse."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from edc import config
from edc.cli import sync_cmd


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scheduler",
        help="run syncs on a schedule (jobs stored in the warehouse)",
        description=(
            "Jobs are kept in the warehouse (APScheduler's job store), so they survive restarts "
            "and every scheduler process sees them. Several `edc scheduler run` processes may "
            "share one warehouse: a lease in the database keeps each job from running twice at "
            "once. A failed run is logged, recorded, and tried again at the next interval."
        ),
    )
    sub = parser.add_subparsers(dest="scheduler_command", metavar="ACTION", required=True)

    add = sub.add_parser(
        "add",
        help="schedule a sync of one study from one source",
        description=(
            "Store a job that runs `edc sync` with these options every INTERVAL; a job with the "
            "same id is replaced. SMART settings are stored with the job (the key file's path, "
            "never the key). Exit 2 if the options are wrong or the study is not registered."
        ),
    )
    sync_cmd.add_source_arguments(add)
    add.add_argument("--every", required=True, metavar="INTERVAL", help="e.g. 30s, 15m, 2h, 1d")
    add.add_argument("--id", dest="job_id", metavar="NAME", help="job id (default: derived)")
    add.set_defaults(run=_add)

    listing = sub.add_parser("list", help="show the scheduled jobs and how their last run went")
    listing.set_defaults(run=_list)

    remove = sub.add_parser("remove", help="delete a scheduled job")
    remove.add_argument("job_id", metavar="ID", help="the job id (see `edc scheduler list`)")
    remove.set_defaults(run=_remove)

    run = sub.add_parser(
        "run",
        help="run the scheduled jobs until stopped (SIGTERM, Ctrl-C)",
        description=(
            "Run every job stored in the warehouse at its interval, reading new jobs as they are "
            "added, until SIGTERM or Ctrl-C (or --for). A run that fails is logged and recorded "
            "(see `edc scheduler list`) and tried again at the next interval; a run still going "
            "when its next one is due is not started twice, in this or another process."
        ),
    )
    run.add_argument(
        "--for", dest="duration", type=float, metavar="SECONDS", help="stop after this long"
    )
    run.set_defaults(run=_run)


def _add(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import scheduler

    every = scheduler.parse_every(args.every)
    request = sync_cmd.sync_request(args, settings)
    job_id = scheduler.add(settings, request, every, job_id=args.job_id)
    print(f"scheduled {job_id}: sync {args.study} every {args.every}")
    return 0


def _list(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import scheduler

    schedules = scheduler.list_schedules(settings)
    if not schedules:
        print("no scheduled jobs")
    for item in schedules:
        source = item.arguments.get("source_dir") or item.arguments.get("fhir_url")
        last = item.last_outcome or "never run"
        if item.last_message:
            last += f" ({item.last_message})"
        running = f", running on {item.holder}" if item.holder else ""
        when = item.next_run.isoformat(timespec="seconds") if item.next_run else "paused"
        print(
            f"{item.job_id}: sync {item.arguments.get('study')} from {source} every "
            f"{scheduler.every_text(item.every)}; next {when}; last: {last}{running}"
        )
    return 0


def _remove(args: argparse.Namespace, settings: config.Settings) -> int:
    from edc.actions import scheduler

    scheduler.remove(settings, args.job_id)
    print(f"removed {args.job_id}")
    return 0


def _run(args: argparse.Namespace, settings: config.Settings) -> int:
    # APScheduler's own warnings (misfires, executor trouble) go where edc's logs go.
    from edc.actions import scheduler

    logging.getLogger("apscheduler").handlers[:] = logging.getLogger("edc").handlers
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").propagate = False
    scheduler.run(settings, duration=args.duration)
    return 0
