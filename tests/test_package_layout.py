"""The package's house rules: one folder per stage, imports only downward, no cycles."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "synthdet"
# Lowest first: a stage may import its own modules and those of the stages before it.
STAGES = ("core", "setup", "generate", "label", "export", "report")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """The synthdet modules (or sub-packages) a module imports, as dotted names."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    )
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("synthdet"))
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + [node.module or ""]).rstrip(".") if node.level else node.module
            if not target or not target.startswith("synthdet"):
                continue
            for alias in node.names:
                as_module = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / (as_module.replace(".", "/") + ".py")).exists()
                found.add(as_module if is_module else target)
    return found


def package_graph():
    return {module_name(p): imported_modules(p) for p in sorted(PACKAGE.rglob("*.py"))}


def stage_of(name):
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_lives_in_a_stage_folder():
    loose = [module_name(p) for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside the stage folders {STAGES}: {loose}"
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(STAGES)


def test_imports_go_only_down_the_stages():
    upward = []
    for name, imports in package_graph().items():
        for target in imports:
            low, high = stage_of(target), stage_of(name)
            if low and high and STAGES.index(low) > STAGES.index(high):
                upward.append(f"{name} imports {target}")
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    graph = package_graph()
    done, active = set(), []

    def visit(name):
        if name in active:
            pytest.fail("import cycle: " + " -> ".join(active[active.index(name) :] + [name]))
        if name in done:
            return
        active.append(name)
        for target in graph.get(name, ()):
            visit(target)
        active.pop()
        done.add(name)

    for name in graph:
        visit(name)


def test_the_graph_resolves_relative_imports():
    """The checks above can fail only if `..stage.module` and `from . import x` are read."""
    qa = imported_modules(PACKAGE / "report" / "qa.py")
    assert {"synthdet.core.palette", "synthdet.core.rle", "synthdet.export.naming"} <= qa
    video = imported_modules(PACKAGE / "label" / "video_labeling.py")
    assert {"synthdet.label.tracking", "synthdet.label.image_labeling"} <= video
