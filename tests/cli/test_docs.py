"""The README's command table is the CLI's own help, so the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path

from edc.cli import app, docs

README = Path(__file__).parents[2] / "README.md"


def test_readme_command_table_matches_the_cli() -> None:
    readme = README.read_text()
    assert docs.updated(readme) == readme, "README is stale: run python -m edc.cli.docs --write"


def test_every_command_is_in_the_readme() -> None:
    readme = README.read_text()
    for path, command in docs.leaf_commands(app.command()):
        assert f"`{docs.usage(path, command)}`" in readme


def test_usage_names_arguments_and_required_options() -> None:
    rows = {" ".join(path): docs.usage(path, c) for path, c in docs.leaf_commands(app.command())}
    assert rows["protocol compile"] == "edc protocol compile FILE --output FILE [OPTIONS]"
    assert rows["sync"] == "edc sync --study ID [OPTIONS]"
    assert rows["scheduler remove"] == "edc scheduler remove ID"
