"""A notebook handed in, read back into engine.py, nn.py, train.py and extensions.py (read, never
run).

Every graded code cell carries metadata {"micrograd_kit": {"module": ..., "part": ...}} and, as
its first line, the same key as a marker comment (`# micrograd-kit engine:add`), so a cell is
found by its metadata, by its marker if the metadata was lost (cells pasted into a new
notebook), or by what it defines if both were lost. The cells are put back together into
modules, which are then graded like any submission; each line remembers its cell, so that
messages can name the cell instead of the rebuilt file. A notebook has no files: its feedback
names cells as the student sees them (`In [5]`, or the cell's first line) and never a module's
file (see `relocate`).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .. import steps
from .untrusted import one_line, parse, read_regular

MAX_NOTEBOOK_BYTES = 20_000_000
# A cell is classified by parsing it only up to this size (a step's cell is a few KB).
MAX_CELL_CHARS = 200_000
MARKER = re.compile(r"^#\s*micrograd-kit\s+(\w+):(\w+)")
HEADERS = {
    "engine": "import math\n",
    "nn": "import random\n\nfrom engine import Value\n",
    "train": "import random\nimport sys\n\nfrom nn import MLP\n",
    "extensions": "import math\nimport random\n\nfrom engine import Value\nfrom nn import MLP\n",
}
# The Value methods of each step written in engine.py, in the table's order: a cell each.
VALUE_METHODS: dict[str, tuple[str, ...]] = {
    step.id: tuple(todo.split(".", 1)[1] for todo in step.todos)
    for step in steps.STEPS if step.file == "engine.py"}
# The order of the parts in each rebuilt module.
PARTS: dict[str, tuple[str, ...]] = {
    "engine": ("base", *VALUE_METHODS),
    "nn": ("neuron", "layers"),
    "train": ("data", "training", "loop"),
    "extensions": ("softmax", "classifier", "flowers"),
}

# What feedback calls each rebuilt module in a notebook, where there are no files.
MODULE_CELLS = {
    "engine": "the Value cells",
    "nn": "the Neuron and MLP cells",
    "train": "the training cells",
    "extensions": "the bonus cells",
}
# The steps whose cell is not named after them.
STEP_PART = {"network": "layers"}
# What a module whose cells the kernel has not run yet is said to be (check() leaves it out).
NOT_RUN_YET = "not been run yet"


@dataclass
class Rebuilt:
    """Modules put back together from a notebook, and where each of their lines came from."""

    sources: dict[str, str] = field(default_factory=dict)
    origin: dict[str, list[tuple[int, int] | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Cells left out because they are not valid Python on their own: the other cells of their
    # module are graded without them (a file stands or falls whole; cells do not).
    left_out: list[str] = field(default_factory=list)
    in_kernel: bool = False      # read from a running kernel's history, not a saved file
    # Cell number -> how the student sees that cell: "In [5]", or the cell starting "...".
    # Without a name, the number is an execution count (a kernel's history).
    names: dict[int, str] = field(default_factory=dict)
    parts: dict[tuple[str, str], int] = field(default_factory=dict)   # (module, part) -> cell

    def cell_name(self, cell: int) -> str:
        return self.names.get(cell) or f"In [{cell}]"

    def where(self, module: str, line: int) -> str | None:
        lines = self.origin.get(module, [])
        if 1 <= line <= len(lines) and lines[line - 1] is not None:
            cell, cell_line = lines[line - 1]    # type: ignore[misc]
            return at_line(self.cell_name(cell), cell_line)
        return None

    def step_cell(self, step: str) -> str:
        """Where a step's code is: its cell as the student sees it, or which cell to look for."""
        module, part = step_key(step)
        cell = self.parts.get((module, part))
        if cell is not None:
            return self.cell_name(cell)
        why = "not run yet" if self.in_kernel else "not in the notebook"
        return f'its cell, the one starting "# micrograd-kit {module}:{part}" ({why})'


def step_key(step: str) -> tuple[str, str]:
    """The (module, part) of the cell that holds a step's code."""
    return steps.get(step).file.removesuffix(".py"), STEP_PART.get(step, step)


def at_line(cell: str, line: int) -> str:
    """A line of a cell, as Jupyter numbers its cells (In [5] line 4) or by the cell's start."""
    return f"{cell} line {line}" if cell.startswith("In [") else f"line {line} of {cell}"


def first_line(source: str) -> str:
    """The first line of a cell as a student would search for it: its marker, or its first
    line of code, shortened."""
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    match = MARKER.match(line)
    if match:
        return match.group(0)
    # On one line, its escapes shown: a cell's text may carry escape sequences (a cleared
    # screen, a fake scoreboard) that a report must not pass on.
    line = one_line(line)
    return line if len(line) <= 48 else line[:45] + "..."


def cell_names(cells: Sequence[tuple[int, Any, str]]) -> dict[int, str]:
    """(cell number, execution count, source) -> how the student sees each cell: the execution
    count Jupyter shows beside a cell that was run (when no other cell shows the same one), else
    the cell's first line. Jupyter shows no position number, so positions are never used."""
    counts = Counter(count for _, count, _ in cells)
    names = {}
    for number, count, source in cells:
        if isinstance(count, int) and not isinstance(count, bool) and count > 0 and \
                counts[count] == 1:
            names[number] = f"In [{count}]"
        else:
            names[number] = f'the cell starting "{first_line(source)}"'
    return names


def _strip_magics(source: str) -> str:
    """IPython magics and shell lines (% and !) become blank lines, keeping line numbers."""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        out.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out)


# A cell without metadata or marker, known by what it defines: (module, part, the names of
# which it defines one, or defines them all when `every`), the first that fits. The engine's
# method cells are known by the Value methods the step table gives them.
DEFINES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("extensions", "softmax", ("softmax", "cross_entropy"), False),
    ("extensions", "classifier", ("train_classifier",), False),
    ("extensions", "flowers", ("load_iris", "IRIS"), False),
    ("nn", "neuron", ("Neuron",), False),
    ("nn", "layers", ("Layer", "MLP"), False),
    ("train", "training", ("train_step",), False),
    ("train", "loop", ("train",), False),
    ("train", "data", ("XS", "YS"), True),
)


def _defined(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The functions and classes a cell defines, and the names (or Value's attributes) it
    assigns."""
    names: set[str] = set()
    assigned: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id == "Value":
                    assigned.add(target.attr)
                elif isinstance(target, ast.Name):
                    assigned.add(target.id)
    return names, assigned


def _classify(source: str) -> tuple[str, str] | None:
    """Which part a cell without metadata or marker holds, from what it defines."""
    if len(source) > MAX_CELL_CHARS:
        return None               # parsed, it would take gigabytes: a cell of no step
    try:
        names, assigned = _defined(parse(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None               # a cell that is not code of a step: it goes nowhere
    if "Value" in names:
        return ("engine", "base")
    for step, methods in VALUE_METHODS.items():
        if assigned.intersection(methods):
            return ("engine", step)
    for module, part, defines, every in DEFINES:
        found = [n in names or n in assigned for n in defines]
        if all(found) if every else any(found):
            return (module, part)
    return None


def _key(cell: Any) -> tuple[str, str] | None:
    # A hand-edited notebook may hold anything where a dict belongs: read it as nothing.
    metadata = cell.get("metadata")
    meta = metadata.get("micrograd_kit") if isinstance(metadata, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    module, part = meta.get("module"), meta.get("part")
    if isinstance(module, str) and isinstance(part, str) and module in PARTS and \
            part in PARTS[module]:
        return module, part
    source = _text(cell.get("source"))
    first = source.lstrip().splitlines()[:1]
    match = MARKER.match(first[0]) if first else None
    if match and match.group(1) in PARTS and match.group(2) in PARTS[match.group(1)]:
        return match.group(1), match.group(2)
    if meta:       # a check or example cell of ours
        return None
    return _classify(_strip_magics(source))


def rebuild(cells: Sequence[tuple[int, str, tuple[str, str] | None]],
            names: dict[int, str] | None = None, in_kernel: bool = False) -> Rebuilt:
    """Modules from (cell number, source, key) triples; the last cell with a key wins.
    `names`: how the student sees each cell (without, the numbers are execution counts)."""
    chosen: dict[tuple[str, str], tuple[int, str]] = {}
    for number, source, key in cells:
        if key is not None:
            chosen[key] = (number, _strip_magics(source))
    rebuilt = Rebuilt(in_kernel=in_kernel, names=dict(names or {}),
                      parts={key: number for key, (number, _) in chosen.items()})
    for module, parts in PARTS.items():
        text = HEADERS[module]
        origin: list[tuple[int, int] | None] = [None] * HEADERS[module].count("\n")
        for part in parts:
            if (module, part) not in chosen:
                continue
            number, source = chosen[(module, part)]
            if part != "base" and not _valid(source):
                # Graded as the stub: its step not started, what needs it blamed on it.
                rebuilt.left_out.append(_invalid_cell(rebuilt, number, source))
                source = stub_cell(module, part)
            body = source.splitlines()
            text += "\n\n" + "\n".join(body) + "\n"
            origin += [None, None] + [(number, k) for k in range(1, len(body) + 1)]
        if any((module, p) in chosen for p in parts):
            rebuilt.sources[module] = text
            rebuilt.origin[module] = origin
    return rebuilt


def stub_cell(module: str, part: str) -> str:
    """What stands for a step's cell that is not valid Python: its TODOs, each raising
    NotImplementedError as a stub does (so the step is not started, and what needs it is
    blamed on it); a part that is not a step's stands for nothing."""
    if part not in steps.STEP_IDS:
        return ""
    lines: list[str] = []
    classes: dict[str, list[str]] = {}
    for todo in steps.get(part).todos:
        owner, _, name = todo.rpartition(".")
        body = [f"def {name}(*args, **kwargs):",
                f"    raise NotImplementedError('TODO({part}): the cell is not valid Python')"]
        if module == "engine" and owner == "Value":
            lines += [*body, f"Value.{name} = {name}", ""]
        elif owner:
            classes.setdefault(owner, []).extend("    " + line for line in body)
        else:
            lines += [*body, ""]
    for owner, body in classes.items():
        lines += [f"class {owner}:", *body, ""]
    return "\n".join(lines)


def _valid(source: str) -> bool:
    try:
        parse(source)
    except SyntaxError:
        return False
    except (ValueError, RecursionError, MemoryError):
        return True          # too costly to say here: admission says so of the whole module
    return True


def _invalid_cell(rebuilt: Rebuilt, number: int, source: str) -> str:
    """What is said of a cell left out for a syntax error: where, what, and what it costs."""
    try:
        parse(source)
        error: SyntaxError = SyntaxError("invalid syntax")
    except SyntaxError as exc:
        error = exc
    cell = rebuilt.cell_name(number)
    where = at_line(cell, error.lineno) if error.lineno else cell
    return (f"{where}: the cell is not valid Python (SyntaxError: {error.msg}); it was graded "
            f"as a new notebook has it (its step not started), the other cells as they are")


def read_notebook(path: Path) -> tuple[Any | None, str | None]:
    """The notebook, or the reason it cannot be graded."""
    try:
        size = Path(path).lstat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return None, (f"{Path(path).name} is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB "
                          f"(clear its outputs and save it again)")
        data = read_regular(Path(path), MAX_NOTEBOOK_BYTES)    # never a link, a FIFO, ...
        if data is None:
            return None, f"{Path(path).name} is not a regular file: not opened"
        raw = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{Path(path).name} cannot be read as text ({exc})"
    import nbformat     # only when a notebook is graded: it takes a while to import
    try:
        nb = nbformat.reads(raw, as_version=nbformat.NO_CONVERT)   # parsed once
        version = nb.get("nbformat", 0)
    except Exception as exc:        # nbformat raises several kinds for text that is not a notebook
        return None, f"{Path(path).name} is not a valid Jupyter notebook ({type(exc).__name__})"
    del raw
    if not isinstance(version, int) or version < 4:
        return None, (f"{Path(path).name} is an old notebook (format {version}); open it in a "
                      f"current Jupyter and save it again, then resubmit")
    try:
        nb = nbformat.convert(nb, 4)
        for cell in nb.get("cells") or []:
            # Outputs are never graded: dropped, they cost no validation.
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                cell["outputs"] = []
        nbformat.validate(nb)
    except Exception as exc:
        return None, f"{Path(path).name} is not a valid Jupyter notebook: {str(exc)[:200]}"
    return nb, None


def notebook_to_folder(path: Path, folder: Path) -> Rebuilt:
    """Write engine.py, nn.py and train.py rebuilt from the notebook at `path` into `folder`."""
    nb, problem = read_notebook(path)
    if nb is None:
        rebuilt = Rebuilt()
        rebuilt.problems.append(problem or "not a notebook")
        return rebuilt
    code = [(number, cell) for number, cell in enumerate(nb.cells, start=1)
            if cell.get("cell_type") == "code"]
    cells = [(number, _text(cell.get("source")), _key(cell)) for number, cell in code]
    names = cell_names([(number, cell.get("execution_count"), _text(cell.get("source")))
                        for number, cell in code])
    rebuilt = rebuild(cells, names)
    if "engine" not in rebuilt.sources:
        rebuilt.problems.append(f"{Path(path).name} has no cell defining class Value")
    for module, text in rebuilt.sources.items():
        (folder / f"{module}.py").write_text(text, encoding="utf-8")
    return rebuilt


def _text(source: Any) -> str:
    """A cell's source as one string (a hand-edited notebook may keep it as a list of lines)."""
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


FILE = r"(?:exercises/)?\b(engine|nn|train|extensions)\.py"
LOCATION = re.compile(FILE + r":(\d+)")
# A module that could not be loaded, said of its cells: (what the grader says of the file,
# what it says of the cells).
LEADS = (
    (re.compile(FILE + r" could not be imported"), "{cells} could not be run"),
    (re.compile(FILE + r" was not run"), "{cells} were not run"),
    (re.compile(FILE + r" raised at import time"), "{cells} raised an error as they ran"),
    (re.compile(FILE + r" was stopped while it was imported"), "{cells} were stopped as they ran"),
    (re.compile(FILE + r" is missing from [^\n;]*"), "{missing}"),
)
# Sentences written for files, in a notebook's words.
PHRASES = (
    (re.compile(r"the file is not valid Python"), "the cell is not valid Python"),
    (re.compile(r"Your nn\.py uses"), "Your Neuron and MLP cells use"),
    (re.compile(r"the kit's engine\.py has it"), "a new notebook's Value cell has it"),
    (re.compile(r"from the kit's exercises/"), "as a new notebook has it"),
    (re.compile(r"`python exercises/train\.py`"), 'the cell under "The training run"'),
)


def relocate(text: str, rebuilt: Rebuilt) -> str:
    """A message about the rebuilt files, about the notebook's cells instead: engine.py:23 ->
    In [5] line 4 (or line 4 of the cell starting "..."), "engine.py could not be imported" ->
    "the Value cells could not be run", and no file named anywhere."""
    if not text:
        return text

    def lead(template: str) -> Any:
        def swap(match: re.Match[str]) -> str:
            cells = MODULE_CELLS[match.group(1)]
            missing = f"{cells} have {NOT_RUN_YET}" if rebuilt.in_kernel else \
                f"{cells} are not in the notebook"
            return template.format(cells=cells, missing=missing)
        return swap

    for pattern, template in LEADS:
        text = pattern.sub(lead(template), text)

    def line(match: re.Match[str]) -> str:
        where = rebuilt.where(match.group(1), int(match.group(2)))
        return where or f"{MODULE_CELLS[match.group(1)]} (a line the grader adds)"
    text = LOCATION.sub(line, text)
    for pattern, words in PHRASES:
        text = pattern.sub(words, text)
    return re.sub(FILE + r"\b", lambda m: MODULE_CELLS[m.group(1)], text)
