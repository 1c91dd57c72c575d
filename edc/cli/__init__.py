"""The `edc` command line (Typer + Rich): a thin shell over ``edc.actions``.

Conventions for every command (follow them for new ones):

**Where.** One module per noun or single verb: ``edc/cli/<noun>_cmd.py`` with
``register(root)``, listed in ``app.COMMAND_MODULES`` (that order is the help's order). A noun
with verbs is a sub-app: ``app = typer.Typer(help=..., no_args_is_help=True)`` and
``root.add_typer(app, name="query")``; its verbs are ``@app.command()`` functions (kebab-case
names: ``@app.command("open-all")``). A single verb is ``root.command("sync")(sync)``.

**A command is glue.** Parse options, call one ``edc.actions`` function, hand its result to the
renderer. Import the action *inside* the function (``from edc.actions import query``): module
level imports only ``typer``, ``pathlib``, ``edc.cli.*`` and ``TYPE_CHECKING`` names, so
``edc --help`` stays fast (``tests/benchmarks/bench_cli_startup.py``)::

    QUERY_VIEW: render.View[QueryList] = render.View(  # QueryList under TYPE_CHECKING
        sections=(render.Section("queries", columns=("subject", "form", "status", "age_days")),),
        headline=lambda r: f"{len(r.queries)} open data queries",
    )

    @app.command("list")
    def list_(study: StudyOption, fmt: FormatOption = render.Format.table) -> None:
        \"\"\"List the open data queries of a study.\"\"\"  # first line: the help's summary
        from edc.actions import query

        state.emit(query.list_open(state.settings(), study), fmt, QUERY_VIEW)

**Options.** Type hints with ``Annotated[..., typer.Option(metavar=..., help=...)]``; reuse the
ones in ``edc.cli.options`` (``FormatOption``, ``ProtocolFile``, ``StudyOption``,
``FhirUrlOption``/``RequiredFhirUrl``; SMART flags with ``@include(ServerFlags, "server")``
and ``server.spec(settings, url, scope=...)``). Metavars: ``URL``, ``FILE``, ``DIR``, ``ID``,
``N``, ``SECONDS``, ``RATE``; kebab-case flags. Validate values in the action (it raises
``BadInputError`` naming the flag), not with Typer callbacks, so the API gets the same checks.

**Output** (``edc.cli.render``). Every command that reports data takes
``fmt: FormatOption = render.Format.table`` and ends with ``state.emit(result, fmt, view)``.
The result is a dataclass or pydantic model (or a list of them) with numbers as numbers, from
the action or assembled in the command from the action's result (never by querying). The
``render.View`` says how people see it: ``sections`` (lists or mappings shown as tables; the
first is what ``csv`` prints), a ``headline`` (one or more lines: on stdout for ``table``, on
stderr for ``json``/``csv``), ``text`` (lines instead of tables), ``extra`` (computed JSON
keys). JSON keys are the dataclass fields in declared order: they are an interface (documented
by ``tests/cli/test_json_output.py``), so add fields, do not rename them. A message that is not
the result goes through ``state.say(...)`` (stderr, silent with ``-q``). Never ``print``.

**Progress.** Long work takes ``state.progress(label, unit)`` and passes it to the action,
which calls ``update(done, total)`` per batch (give ``total`` when known) and
``finish(summary)``: a Rich bar on a terminal, a line every few seconds otherwise, nothing
with ``-q``; it is closed when the command ends, also on errors.

**Settings and the acting user.** ``state.settings()`` loads them on first use
(``edc.config``: flags > ``EDC_*`` environment > ``edc.toml``/``--config FILE`` > defaults).
``settings.user`` is who is acting (``--user``, ``EDC_USER``, default the OS login name):
record it as the audit actor of changes the command makes and check roles against it.

**Errors and exit codes.** Actions raise ``errors.UserError`` subclasses: ``BadInputError``
(2: the message names the flag, file:line or record), ``CheckFailedError`` (1: a check found
a failure), ``ExternalSystemError`` (3: a server or database failed after retries). Only
``edc.cli.app.run`` turns them into "edc: error: ..." on stderr and the exit code; usage
errors Typer finds are exit 2 too. Anything else is a bug and keeps its traceback.

**Logging.** Libraries log through ``logging.getLogger("edc.<area>")`` inside
``edc.logs.context(study=..., site=..., subject=...)``; ``-v``/``-vv``/``-q`` set the level,
and ``--verbose``, ``--quiet``, ``--config``, ``--user`` work anywhere on the line
(``edc.cli.argv``).

**Docs and tests.** The README's command table is generated from the commands' help: run
``python -m edc.cli.docs --write`` after adding or changing a command (a test fails when it
is stale). Add a reporting command's JSON keys to ``tests/cli/test_json_output.py``; test
exit codes through ``edc.cli.main([...])``, which returns the code and never raises.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line (default ``sys.argv[1:]``) and return its exit code."""
    from edc.cli import app

    return app.run(argv)
