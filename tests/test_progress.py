"""Progress: a bar on a terminal, a line every few seconds otherwise, never a line per batch."""

from __future__ import annotations

import io

from edc import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_are_throttled_and_the_last_one_is_shown() -> None:
    stream = io.StringIO()
    shown = progress.make(stream, "sync", "resources", interval=3600)
    for done in range(1, 181):  # 180 batches
        shown.update(done * 10, 1800, "Observation")
    shown.finish("1,800 resources")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # the first batch, the last one, and the summary
    assert lines[0].startswith("sync: 10/1,800 resources (")
    assert "about" in lines[0] and "left" in lines[0]  # a total gives a time left
    assert lines[1].startswith("sync: 1,800/1,800 resources")
    assert lines[2].startswith("sync: 1,800 resources in ")


def test_without_a_total_there_is_no_eta() -> None:
    stream = io.StringIO()
    shown = progress.make(stream, "sync", "resources")
    shown.update(500)
    assert stream.getvalue().startswith("sync: 500 resources (") and "left" not in stream.getvalue()


def test_a_terminal_gets_a_bar_and_quiet_gets_nothing() -> None:
    terminal = Terminal()
    bar = progress.make(terminal, "load", "patients")
    assert isinstance(bar, progress.BarProgress)
    bar.update(5, 10)
    bar.finish("10 patients")
    assert "load: 10 patients in " in terminal.getvalue()
    quiet = io.StringIO()
    silent = progress.make(quiet, "load", "patients", quiet=True)
    silent.update(5, 10)
    silent.finish("done")
    assert quiet.getvalue() == ""


def test_a_bar_left_open_by_a_failure_is_closed() -> None:
    terminal = Terminal()
    bar = progress.make(terminal, "sync", "resources")
    assert isinstance(bar, progress.BarProgress)
    bar.update(1, 10)
    bar.close()  # what the CLI does when the command raised
    bar.close()
