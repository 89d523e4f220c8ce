"""Every fault the tests inject, and whether the workflow survived it with nothing lost.

Runs the tests marked `fault` (procedural generator, smoke models and the stand-in
Cosmos: all on a CPU) and prints one line per fault with its outcome, then the figure
"faults tried / survived". Run with `make faults`.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class FaultLog:
    """A pytest plugin that records each fault test's description and outcome."""

    def __init__(self):
        self.descriptions, self.outcomes = {}, {}

    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("fault")
            if marker:
                case = f" [{item.callspec.id}]" if hasattr(item, "callspec") else ""
                self.descriptions[item.nodeid] = marker.args[0] + case

    def pytest_runtest_logreport(self, report):
        if report.failed or report.when == "call":
            self.outcomes.setdefault(report.nodeid, "survived" if report.passed else "FAILED")
            if report.failed:
                self.outcomes[report.nodeid] = "FAILED"


def main():
    log = FaultLog()
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "-m", "fault", str(ROOT / "tests")], plugins=[log]
    )
    print()
    for nodeid, description in log.descriptions.items():
        print(f"{log.outcomes.get(nodeid, 'not run'):9s} {description}")
    survived = sum(outcome == "survived" for outcome in log.outcomes.values())
    print(f"\nfaults tried: {len(log.descriptions)}, survived with nothing lost: {survived}")
    return code


if __name__ == "__main__":
    sys.exit(main())
