"""`edc user add|grant|revoke|list|set-password`: the people who use edc, their roles per study,
and their web password."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from edc.cli import render, state
from edc.cli.options import FormatOption, StudyOption

app = typer.Typer(no_args_is_help=True, short_help="people and their roles (per study and site)")
app.info.help = (
    "People who use edc and the roles they hold in each study, at one site or study-wide. The "
    "acting user (--user, EDC_USER, default the login name) must hold a role that allows what "
    "a command does; every change is in the audit trail with that person and role. Roles: "
    "site_staff, investigator, principal_investigator (site roles), monitor, data_manager, "
    "statistician, unblinded_statistician, admin. Administrators manage users; a study's first "
    "admin role may be granted by anyone (setting up a new installation)."
)
Username = Annotated[str, typer.Argument(metavar="USER", help="the user name")]
RoleOption = Annotated[str, typer.Option("--role", metavar="ROLE", help="the role")]
SiteOption = Annotated[
    str | None, typer.Option("--site", metavar="ID", help="the site (site roles need one)")
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="user")


@dataclasses.dataclass(frozen=True)
class UserLine:
    """A user as `edc user list` shows it (roles as study/site:role)."""

    username: str
    name: str
    email: str | None
    active: bool
    roles: str


@app.command()
def add(
    username: Username,
    name: Annotated[str, typer.Option("--name", metavar="TEXT", help="the person's name")] = "",
    email: Annotated[str | None, typer.Option("--email", metavar="TEXT")] = None,
) -> None:
    """Add a user (an administrator acts; on a new installation, anyone)."""
    from edc.actions import users
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        users.add(workspace, username, name or username, email)
    state.say(f"added user {username}")


@app.command()
def grant(
    username: Username, study: StudyOption, role: RoleOption, site: SiteOption = None
) -> None:
    """Give a user a role in a study (at a site for site roles)."""
    from edc.actions import users
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        change = users.grant(workspace, username, study, role, site)
    where = f" at site {site}" if site else ""
    state.say(f"{username}: {role} in {study}{where}" + ("" if change.changed else " (already)"))


@app.command()
def revoke(
    username: Username,
    study: StudyOption,
    role: RoleOption,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="why (audited)")],
    site: SiteOption = None,
) -> None:
    """Take a role back (with the reason, in the audit trail)."""
    from edc.actions import users
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        users.revoke(workspace, username, study, role, site, reason=reason)
    state.say(f"{username}: no longer {role} in {study}")


@app.command("set-password")
def set_password(
    username: Username,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="read the password from standard input (for scripts)"
        ),
    ] = False,
) -> None:
    """Set a user's password for the web login (an administrator, or the user themselves).

    Asked for twice without echo unless --password-stdin. At least 10 characters, not the user
    name; the user's open web sessions end.
    """
    import sys

    from edc.actions import users
    from edc.actions.workspace import Workspace

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with Workspace.open(state.settings()) as workspace:
        users.set_password(workspace, username, password)
    state.say(f"password set for {username}; their web sessions have ended")


@app.command("list")
def list_(
    study: Annotated[str | None, typer.Option("--study", metavar="ID")] = None,
    fmt: FormatOption = render.Format.table,
) -> None:
    """Show the users (of one study) and their roles."""
    from edc.actions import users
    from edc.actions.workspace import Workspace

    with Workspace.open(state.settings()) as workspace:
        found = users.list_users(workspace, study)
    rows = [
        UserLine(
            u.username,
            u.display_name,
            u.email,
            u.active,
            ", ".join(f"{s}/{site or '*'}:{role}" for s, site, role in u.roles),
        )
        for u in found
    ]
    view = render.View[list[UserLine]](
        sections=(render.Section(""),), headline=lambda r: [] if r else ["no users"]
    )
    state.emit(rows, fmt, view)
