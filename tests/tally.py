"""The run's tally of faults survived and bad inputs handled: every test marked `fault`
or `bad_input` is one fault or one input, and the summary at the end of the run counts
those that passed of those that ran (a skipped one did not run)."""

from __future__ import annotations

from collections import defaultdict

import pytest

TALLIED = {"fault": "faults survived", "bad_input": "bad inputs handled"}


class Tally:
    def __init__(self) -> None:
        self.marked: dict[str, str] = {}
        """Test id -> the marker it is counted under."""
        self.passed: set[str] = set()
        self.failed: set[str] = set()

    @pytest.hookimpl
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for marker in TALLIED:
                if item.get_closest_marker(marker):
                    self.marked[item.nodeid] = marker

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed.add(report.nodeid)
        elif report.when == "call" and report.passed:
            self.passed.add(report.nodeid)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tried: dict[str, int] = defaultdict(int)
        survived: dict[str, int] = defaultdict(int)
        for nodeid in self.passed | self.failed:
            marker = self.marked.get(nodeid)
            if marker is not None:
                tried[marker] += 1
                survived[marker] += nodeid not in self.failed
        counts = [
            f"{label} {survived[m]} of {tried[m]}" for m, label in TALLIED.items() if tried[m]
        ]
        if counts:
            terminalreporter.write_sep("=", ", ".join(counts))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Tally(), "playout-tally")
