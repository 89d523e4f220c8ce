"""House rules of the test suite itself."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def calls_to(name, path):
    """Line numbers where the module at `path` calls something named `name`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == name
    ]


def test_smoke_models_are_built_only_by_the_session_fixture():
    """Building them takes seconds: conftest's built_smoke_models does it once per run, and
    a test file that builds its own copy would pay that again."""
    builders = {
        f"{path.relative_to(TESTS)}:{line}"
        for path in TESTS.rglob("*.py")
        for line in calls_to("build_all", path)
    }
    assert len(builders) == 1 and next(iter(builders)).startswith("conftest.py:"), builders
