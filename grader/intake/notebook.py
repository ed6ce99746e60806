"""A notebook handed in, read back into engine.py, nn.py, train.py and extensions.py (read, never
run).

Every graded code cell carries metadata {"micrograd_kit": {"module": ..., "part": ...}} and, as
its first line, the same key as a marker comment (`# micrograd-kit engine:add`), so a cell is
found by its metadata, by its marker if the metadata was lost (cells pasted into a new
notebook), or by what it defines if both were lost. The cells are put back together into
modules, which are then graded like any submission; each line remembers its cell, so that
messages can name the cell instead of the rebuilt file.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..untrusted import parse, read_regular

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
# The order of the parts in each rebuilt module.
PARTS: dict[str, tuple[str, ...]] = {
    "engine": ("base", "add", "mul", "tanh", "backward", "activations"),
    "nn": ("neuron", "layers"),
    "train": ("data", "training", "loop"),
    "extensions": ("softmax", "classifier", "flowers"),
}

@dataclass
class Rebuilt:
    """Modules put back together from a notebook, and where each of their lines came from."""

    sources: dict[str, str] = field(default_factory=dict)
    origin: dict[str, list[tuple[int, int] | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    in_kernel: bool = False      # cells numbered by execution (In [5]) rather than position

    def where(self, module: str, line: int) -> str | None:
        lines = self.origin.get(module, [])
        if 1 <= line <= len(lines) and lines[line - 1] is not None:
            cell, cell_line = lines[line - 1]    # type: ignore[misc]
            return f"In [{cell}] line {cell_line}" if self.in_kernel else \
                f"cell {cell} line {cell_line}"
        return None


def _strip_magics(source: str) -> str:
    """IPython magics and shell lines (% and !) become blank lines, keeping line numbers."""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        out.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out)


def _classify(source: str) -> tuple[str, str] | None:
    """Which part a cell without metadata or marker holds, from what it defines."""
    if len(source) > MAX_CELL_CHARS:
        return None               # parsed, it would take gigabytes: a cell of no step
    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None               # a cell that is not code of a step: it goes nowhere
    names = set()
    assigned = set()
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
    if "Value" in names:
        return ("engine", "base")
    for step, attr in (("add", "__add__"), ("mul", "__mul__"), ("tanh", "tanh"),
                       ("backward", "backward"), ("activations", "relu"),
                       ("activations", "sigmoid")):
        if attr in assigned:
            return ("engine", step)
    if "softmax" in names or "cross_entropy" in names:
        return ("extensions", "softmax")
    if "train_classifier" in names:
        return ("extensions", "classifier")
    if "load_iris" in names or "IRIS" in assigned:
        return ("extensions", "flowers")
    if "Neuron" in names:
        return ("nn", "neuron")
    if "Layer" in names or "MLP" in names:
        return ("nn", "layers")
    if "train_step" in names:
        return ("train", "training")
    if "train" in names:
        return ("train", "loop")
    if "XS" in assigned and "YS" in assigned:
        return ("train", "data")
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
    source = cell.get("source") or ""
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    if not isinstance(source, str):
        return None
    first = source.lstrip().splitlines()[:1]
    match = MARKER.match(first[0]) if first else None
    if match and match.group(1) in PARTS and match.group(2) in PARTS[match.group(1)]:
        return match.group(1), match.group(2)
    if meta:       # a check or example cell of ours
        return None
    return _classify(_strip_magics(source))


def rebuild(cells: Sequence[tuple[int, str, tuple[str, str] | None]]) -> Rebuilt:
    """Modules from (cell number, source, key) triples; the last cell with a key wins."""
    chosen: dict[tuple[str, str], tuple[int, str]] = {}
    for number, source, key in cells:
        if key is not None:
            chosen[key] = (number, _strip_magics(source))
    rebuilt = Rebuilt()
    for module, parts in PARTS.items():
        text = HEADERS[module]
        origin: list[tuple[int, int] | None] = [None] * HEADERS[module].count("\n")
        for part in parts:
            if (module, part) not in chosen:
                continue
            number, source = chosen[(module, part)]
            body = source.splitlines()
            text += "\n\n" + "\n".join(body) + "\n"
            origin += [None, None] + [(number, k) for k in range(1, len(body) + 1)]
        if any((module, p) in chosen for p in parts):
            rebuilt.sources[module] = text
            rebuilt.origin[module] = origin
    return rebuilt


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
    cells = [(number, cell.get("source") or "", _key(cell))
             for number, cell in enumerate(nb.cells, start=1) if cell.get("cell_type") == "code"]
    rebuilt = rebuild(cells)
    if "engine" not in rebuilt.sources:
        rebuilt.problems.append(f"{Path(path).name} has no cell defining class Value")
    for module, text in rebuilt.sources.items():
        (folder / f"{module}.py").write_text(text, encoding="utf-8")
    return rebuilt


LOCATION = re.compile(r"\b(engine|nn|train|extensions)\.py:(\d+)")


def relocate(text: str, rebuilt: Rebuilt) -> str:
    """engine.py:23 -> cell 5 line 4, in any message."""
    def swap(match: re.Match[str]) -> str:
        where = rebuilt.where(match.group(1), int(match.group(2)))
        return where or match.group(0)
    return LOCATION.sub(swap, text)
