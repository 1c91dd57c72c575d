"""`edc lock freeze|lock|unlock`: signed changes of lock state, enforced by the database."""

from __future__ import annotations

from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption

app = typer.Typer(no_args_is_help=True, short_help="freeze, lock or unlock data (e-signature)")
app.info.help = (
    "Freeze, lock or unlock the whole study, one site (--site) or one subject (--subject). "
    "While frozen or locked, the database refuses every change to those subjects' data. Each "
    "change is signed: the acting user (--user/EDC_USER) re-enters their password, needs a role "
    "that may lock (data_manager; a site's principal_investigator for that site), and the "
    "signature is bound to the audit chain's head. Exit 2: no reason, a wrong password, a role "
    "that may not lock, or a change the current state does not allow; nothing is written."
)

SiteOption = Annotated[str | None, typer.Option("--site", metavar="ID", help="one site")]
SubjectOption = Annotated[
    str | None, typer.Option("--subject", metavar="CODE", help="one subject, e.g. 01-0007")
]
ReasonOption = Annotated[str, typer.Option("--reason", metavar="TEXT", help="why (audited)")]
PasswordOption = Annotated[
    str,
    typer.Option(
        "--password",
        metavar="PASSWORD",
        prompt="password (electronic signature)",
        hide_input=True,
        help="your edc password, asked for when not given (read from stdin when piped)",
    ),
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lock")


def _run(
    verb: str,
    study: str,
    site: str | None,
    subject: str | None,
    reason: str,
    password: str,
    fmt: render.Format,
) -> None:
    from edc.actions import lock as action
    from edc.actions.workspace import Workspace

    settings = state.settings()
    request = action.LockRequest(study, verb, reason, password, site=site, subject=subject)
    with Workspace.open(settings) as workspace:
        result = action.change(settings, workspace, request)
    state.emit(
        result,
        fmt,
        render.View(
            headline=lambda r: f"{r.unit} {r.state}; signed by {r.signer} ({r.role}): {r.meaning}"
        ),
    )


@app.command()
def freeze(
    study: StudyOption,
    reason: ReasonOption,
    password: PasswordOption,
    site: SiteOption = None,
    subject: SubjectOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Freeze data for final review: no further changes until unlocked."""
    _run("freeze", study, site, subject, reason, password, fmt)


@app.command()
def lock(
    study: StudyOption,
    reason: ReasonOption,
    password: PasswordOption,
    site: SiteOption = None,
    subject: SubjectOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Lock data as final (signed: data reviewed and approved as final)."""
    _run("lock", study, site, subject, reason, password, fmt)


@app.command()
def unlock(
    study: StudyOption,
    reason: ReasonOption,
    password: PasswordOption,
    site: SiteOption = None,
    subject: SubjectOption = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Unlock frozen or locked data so it can be corrected (signed, with a reason)."""
    _run("unlock", study, site, subject, reason, password, fmt)


@app.command()
def unblind(
    study: StudyOption,
    reason: ReasonOption,
    password: PasswordOption,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Unblind the whole locked study, once (the unblinded statistician, signed).

    Until then exports show arms as masked codes and edc analyze refuses the locked study.
    Exit 2, nothing written: a study not locked, open-label or already unblinded, a blinded or
    other role, a wrong password, no reason.
    """
    from edc.actions import lock as action
    from edc.actions.workspace import Workspace

    settings = state.settings()
    with Workspace.open(settings) as workspace:
        result = action.unblind_study(settings, workspace, study, reason, password)
    state.emit(
        result,
        fmt,
        render.View(headline=lambda r: f"study {r.study} unblinded; signed by {r.signer} "
                    f"({r.role}): {r.meaning}"),
    )  # fmt: skip
