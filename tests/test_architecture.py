"""The grader's design, checked: layers without import cycles, one table of operations and one of
steps, a score layer that needs no sandbox, and nothing in grader/ that gives a solution away
(the student release ships grader/)."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

from grader import ops, steps
from grader.sandbox import protocol
from conftest import ROOT, SOLUTIONS

GRADER = ROOT / "grader"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(GRADER.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(grader module imported, at the top of the file?) for every import in a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                found.append((target, id(node) in top))
    return found


def test_the_grader_has_no_import_cycles():
    graph = {name: {t for t, _ in _imports(name, path)} for name, path in MODULES.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2
    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_grader_modules_are_imported_at_the_top_of_a_file_only():
    # An import inside a function is how a cycle hides; only third-party modules load late
    # (pytest when checks run, nbformat when a notebook is read), and the CLI's command table.
    late = [(name, target) for name, path in MODULES.items()
            for target, at_top in _imports(name, path) if not at_top]
    assert late == []


def _closure(name: str) -> set[str]:
    seen, pending = set(), [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending += [t for t, _ in _imports(current, MODULES[current])]
    return seen


def test_the_score_layer_starts_nothing_and_reads_no_file():
    reached = _closure("grader.scoring")
    assert not [m for m in reached if m.startswith(("grader.sandbox", "grader.checks",
                                                    "grader.commands", "grader.report",
                                                    "grader.interactive"))
                or m in ("grader.api", "grader.notebook", "grader.visualize")], reached
    tree = ast.parse(MODULES["grader.scoring"].read_text(encoding="utf-8"))
    calls = {node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not calls & {"open", "Path", "todo_status", "gather", "open_submission"}


def test_commands_that_never_grade_do_not_load_pytest():
    import subprocess
    for argv in (["hint", "add"], ["steps"], ["--help"], ["policy"]):
        out = subprocess.run([sys.executable, "-X", "importtime", "-m", "grader", *argv],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
        assert not {"pytest", "_pytest", "nbformat"} & loaded, argv


def _literals(path: Path) -> list[tuple[int, set[str]]]:
    """The string constants of each dict, list, tuple or set written in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = list(node.elts)
        else:
            continue
        found.append((node.lineno, {i.value for i in items
                                    if isinstance(i, ast.Constant) and isinstance(i.value, str)}))
    return found


def test_operations_and_steps_are_each_listed_in_one_place():
    # Names that are only an operation (add, mul and tanh are steps too) or only a step.
    only_ops = set(ops.OPS) - set(steps.STEP_IDS)
    only_steps = set(steps.STEP_IDS) - set(ops.OPS)
    tasks = set(protocol.ANSWERS)      # the worker's tasks: some are named like the steps
    repeated = []
    for name, path in MODULES.items():
        for line, strings in _literals(path):
            if strings <= tasks:
                continue
            # A list of operations (or steps) is mostly their names; the course notebook's texts
            # (commands/notebook.py), keyed by its parts, name some steps among other things.
            # The stand-in engine is an engine: it computes each operation's value (a test
            # holds its functions to ops.py's).
            if name not in ("grader.ops", "grader.sandbox.worker.standin") and \
                    len(strings & only_ops) >= 3 and \
                    len(strings & set(ops.OPS)) >= 0.75 * len(strings):
                repeated.append(f"{path.relative_to(ROOT)}:{line} lists operations")
            if name != "grader.steps" and len(strings & only_steps) >= 3 and \
                    len(strings & set(steps.STEP_IDS)) >= 0.75 * len(strings):
                repeated.append(f"{path.relative_to(ROOT)}:{line} lists steps")
    assert repeated == []


def _solution_lines() -> set[str]:
    """The lines of the solutions' TODO functions that say something (not a return, not a
    comment): what the grader must never contain."""
    lines = set()
    for step in steps.STEPS:
        tree = ast.parse((SOLUTIONS / step.file).read_text(encoding="utf-8"))
        source = (SOLUTIONS / step.file).read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                functions = {f"{node.name}.{f.name}": f for f in node.body
                             if isinstance(f, ast.FunctionDef)}
            elif isinstance(node, ast.Module):
                functions = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
            else:
                continue
            for todo in step.todos:
                fn = functions.get(todo)
                if fn is None:
                    continue
                for text in source[fn.body[0].lineno - 1:fn.end_lineno]:
                    code = text.split("#")[0].strip()
                    if len(code) >= 20 and not code.startswith(('"', "return ", "def ")):
                        lines.add(code)
    return lines


def test_nothing_in_the_grader_quotes_a_solution_or_states_a_derivative():
    # A line the stubs hand out (grader/starter, as exercises/) gives nothing away.
    handed_out = {line.strip() for name in steps.ALL_FILES for line in
                  (GRADER / "starter" / name).read_text(encoding="utf-8").splitlines()}
    quoted = _solution_lines() - handed_out
    assert len(quoted) > 20
    formulas = ("1 - t**2", "1 - t ** 2", "1 - t²", "1 - t*t", "1 - t * t", "s * (1 - s)",
                "other.data * out.grad", "self.data * out.grad", "d(out)/da = b",
                "1 / self.data * out.grad", "out.data * out.grad")
    found = []
    for path in MODULES.values():
        text = path.read_text(encoding="utf-8")
        found += [(path.name, line) for line in quoted if line in text]
        found += [(path.name, formula) for formula in formulas if formula in text]
    assert found == []


def test_the_stand_in_engine_computes_each_operation_as_the_operation_table_does():
    # The stand-in is an engine of its own (the worker holds no operation table): its values
    # must be the table's, bit for bit, or the network steps would be graded against numbers
    # the student's code could not reproduce.
    worker = str(ROOT / "grader" / "sandbox" / "worker")
    sys.path.insert(0, worker)
    try:
        standin = importlib.import_module("standin")
    finally:
        sys.path.remove(worker)
        for name in ("standin", "guards"):
            sys.modules.pop(name, None)
    assert set(standin.FORWARD) == {n for n, op in ops.OPS.items()
                                    if op.shape in ("binary", "unary", "power", "many")}
    for name, forward in standin.FORWARD.items():
        op = ops.OPS[name]
        for xs in ([0.7], [-1.3], [2.5], [0.3, -1.1], [1.9, 0.4], [-0.6, 3]):
            args = xs[:2] if op.shape in ("binary", "power") else xs[:1] \
                if op.shape == "unary" else xs
            if len(args) < (2 if op.shape in ("binary", "power") else 1):
                continue
            try:
                want = op.forward(*args)
            except (ValueError, ZeroDivisionError, OverflowError):
                continue
            assert forward(*args) == want, (name, args)


def _blocks(items):
    for block in items:
        yield block
        yield from _blocks(getattr(block, "methods", None) or [])
        yield from _blocks(getattr(block, "closures", None) or [])


def test_every_function_reads_in_one_go_and_every_module_stays_small():
    # Cyclomatic complexity at most 20 (closures and methods counted on their own, as radon
    # does), maintainability index A or B, at most 600 lines.
    from radon.complexity import cc_visit
    from radon.metrics import mi_rank, mi_visit
    complex_, hard, long_ = [], [], []
    for name, path in MODULES.items():
        code = path.read_text(encoding="utf-8")
        complex_ += [f"{name}.{b.name} ({b.complexity})" for b in _blocks(cc_visit(code))
                     if b.complexity > 20]
        if mi_rank(mi_visit(code, multi=True)) not in ("A", "B"):
            hard.append(name)
        if len(code.splitlines()) > 600:
            long_.append(name)
    assert (complex_, hard, long_) == ([], [], [])


def test_records_that_change_hands_are_typed():
    # A record passed between modules is a dataclass or a TypedDict (the protocol's answers,
    # error records and settings in grader/sandbox/tasks.py; a grading's settings in
    # limits.py...). What stays a plain dict[str, Any] is a namespace, keyword arguments, a JSON
    # object not yet checked, or a student object's attributes: fewer than 40 places.
    places = [f"{name}:{n}" for name, path in MODULES.items()
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if "dict[str, Any]" in line]
    assert len(places) < 40, places
