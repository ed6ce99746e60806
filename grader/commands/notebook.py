"""`python -m grader notebook`: the course as one Jupyter notebook, built from the stubs or
solutions/: the words and the cells.

Each graded code cell is marked (metadata and a first-line comment) so that
grader/intake/notebook.py can read it back; the check cells call check() from grader.notebook,
the name the notebooks of every release import (grader/interactive/notebook.py holds it).
"""

from __future__ import annotations

import argparse
import ast
import re
import textwrap
from pathlib import Path
from typing import Any, Sequence

import nbformat

from .. import KIT_ROOT, starter_folder, steps
from ..cli import options

# The core steps written as methods of Value: each gets a cell of its own; the bonus
# activations share one.
VALUE_STEPS = tuple(s.id for s in steps.STEPS if s.file == "engine.py" and not s.bonus)
ACTIVATIONS = steps.get("activations").todos


# ---------------------------------------------------------------- the words
INTRO = """# Build an autograd engine, step by step

In this notebook you write `Value`: a number that remembers how it was computed, so that
`backward()` can walk back through the computation and apply the chain rule. Then you build a
neuron, a small network, and a training loop on top of it.

How to work here:

- Run the cells from the top, the setup cell first. Each step has a cell with `TODO`s for you
  to fill in, then a **check** cell that grades that step with the kit's hidden checks and tells
  you what is wrong. Stuck? `hint("mul")` in any cell gives a nudge for that step.
- Keep the first line of each graded cell (`# micrograd-kit ...`): it tells the grader which cell
  is which. Put all the code a step needs in its own cell.
- Re-run a step's cell after editing it, then its check cell.
"""

EXPLANATIONS = {
    "base": """## The `Value` class

A `Value` holds a number (`data`), the derivative of the final output with respect to it
(`grad`, 0 until `backward()` fills it in), the Values it was computed from (`_prev`), and a
function `_backward` that passes its gradient on to them. The operations you write in the next
steps are attached to the class one by one. Run this cell first: it also holds the operations
that are given (`**`, `-`, `/` and the reflected ones such as `2 + a`).""",
    "add": """## Step N: addition

`a + b` makes a new Value whose `data` is `a.data + b.data` and whose `_prev` holds `a` and `b`.
Its `_backward` applies the chain rule: each input receives the output's gradient times its
local derivative, how much the output moves when that input moves by a little. Use `+=`: a
Value used in two places gets a contribution from each. A plain number (`a + 2`) must be wrapped
in a Value first.""",
    "mul": """## Step N: multiplication

The same three beats as addition. Work out on paper how much `a * b` moves when `a` moves by a
little (try a = 2, b = 5), and the same for `b`; then multiply by `out.grad` and add into each
input's `grad`.""",
    "tanh": """## Step N: tanh

tanh squashes any number into (-1, 1). Its derivative can be written with its own output
t = tanh(x) alone: look it up or derive it from tanh = sinh/cosh, and decide whether your
closure needs x or t. Make sure large inputs such as 1000 work (`math.tanh` handles them).""",
    "backward": """## Step N: backpropagation

`backward()` fills in `grad` for every Value the output depends on. Order the nodes so each one
comes after the nodes it was made from (a topological order), set the output's own gradient to
1, then call each node's `_backward` from the output back towards the inputs. Each node must
appear once in the order, however many paths lead to it.""",
    "example_neuron": """### A worked example: one neuron by hand

o = tanh(x1·w1 + x2·w2 + b). With b = 6.8813735870195432 the output is 0.7071 and the
gradients are x1: -1.5, w1: 1.0, x2: 0.5, w2: 0.0, b: 0.5. (With b = 6.88 you would see
0.7064 and -1.5029.)""",
    "neuron": """## Step N: a neuron

A neuron has one weight per input and a bias, all Values. Its output is tanh(w·x + b).
Draw each weight from [-1, 1] (each its own Value) and start the bias at 0. `parameters()`
lists every Value that training should adjust: the weights, then the bias.""",
    "layers": """## Step N: layers and the network

A `Layer` is a row of neurons reading the same inputs; an `MLP` chains layers. They are given:
this step checks that they work on top of your `Value` and `Neuron`, gradients included.""",
    "example_network": """### A worked example: MLP(3, [4, 4, 1])

Three inputs, two hidden layers of four neurons, one output: 4·(3+1) + 4·(4+1) + 1·(4+1) = 41
parameters.""",
    "data": """## Step N: training

The data: four examples of three numbers each, and the target for each.""",
    "training": """One step of gradient descent: predict every example, add up the squared errors into
one loss, clear the old gradients, call `backward()`, then move every parameter a little
against its gradient (`data -= learning_rate * grad`). Return the loss.""",
    "loop": """The loop that calls your `train_step` again and again (given).""",
    "activations": """## Bonus: more activations

Four more operations, each with its own `_backward`: `relu`, `sigmoid`, `exp` and `log`. The
same three beats as before. Two things to watch: which of the input or the output each
derivative is easiest to write with, and large inputs (`sigmoid` must not overflow at -1000).
The bonus steps are scored apart from the core steps' points.""",
    "softmax": """## Bonus: softmax and cross-entropy

`softmax` turns a list of scores into probabilities that add up to 1; `cross_entropy` is the
loss of a classifier: minus the log of the probability it gives the right class. Both are
built from your Values, so `backward()` works through them. Scores such as
`[1000, 1001, 998]` must work too.""",
    "flowers": """The Iris flowers and the helpers the classifier needs (given): the data, a
standardization of the measurements, and `predict`, the class whose output is largest.""",
    "example_classifier": """### Try it: your classifier on flowers it has not seen

Trains with `train_classifier`'s own defaults, then prints the test accuracy.""",
    "classifier": """## Bonus: a classifier for the Iris flowers

Train an MLP whose last layer has one neuron per class, with the mean cross-entropy over small
batches. The check trains it on 105 flowers and asks it to classify 45 others.""",
    "example_training": """### The training run

Fifty steps with learning rate 0.05: the loss should fall from about 5 to about 0.01, and the
predictions should approach the targets [1, -1, -1, 1].""",
}

EXAMPLES = {
    "example_neuron": '''try:
    x1, w1, x2, w2 = Value(2.0), Value(-3.0), Value(0.0), Value(1.0)
    b = Value(6.8813735870195432)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    print(f"o = {o.data:.4f}")
    for name, v in (("x1", x1), ("w1", w1), ("x2", x2), ("w2", w2), ("b", b)):
        print(f"{name}.grad = {v.grad:.4f}")
except NotImplementedError as todo:
    print(f"Not yet: {todo}")''',
    "example_network": '''try:
    model = MLP(3, [4, 4, 1])
    print(f"MLP(3, [4, 4, 1]) has {len(model.parameters())} parameters")
except NotImplementedError as todo:
    print(f"Not yet: {todo}")''',
    # main() prints the TODO that stops it and exits with status 1: the cell says what to do
    # next instead of showing that status.
    "example_classifier": '''try:
    main()      # trains with train_classifier's defaults: a few seconds
except NotImplementedError as todo:
    print(f"Not yet: {todo}")
except SystemExit:
    print("Write that TODO in its cell above and run the cell, then run this one again.")''',
    "example_training": '''try:
    random.seed(1)
    model = MLP(3, [4, 4, 1])
    losses = train(model)
    print(f"final loss {losses[-1]:.6f}")
    print("predictions", [round(model(x).data, 4) for x in XS])
    print("targets    ", YS)
    try:
        import matplotlib.pyplot as plt     # a plot when matplotlib is there; it is not required
        plt.plot(losses)
        plt.xlabel("step")
        plt.ylabel("loss")
        plt.show()
    except ImportError:
        print("loss", sparkline(losses))
except NotImplementedError as todo:
    print(f"Not yet: {todo}")''',
}

CHECK_CELL = '''from grader.notebook import check
check("{step}")'''

# The first code cell: the grader in this kernel, installed from where the instructor said when
# it is missing (Colab, a fresh kernel), without a restart.
SETUP_CELL = '''# Run this cell first: it makes sure the kit's grader is in this kernel.
INSTALL_FROM = {source!r}
try:
    import grader
except ImportError:
    import importlib, site, subprocess, sys
    if not INSTALL_FROM:
        raise SystemExit("The grader is not installed in this kernel: install micrograd-kit in "
                         "it (your instructor says from where), then run this cell again.")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", INSTALL_FROM], check=True)
    importlib.invalidate_caches()
    for folder in [*site.getsitepackages(), site.getusersitepackages()]:
        if folder not in sys.path:
            site.addsitedir(folder)        # a folder pip made just now: no restart needed
    import grader
from grader.notebook import check, hint
print("micrograd-kit", grader.__version__, 'is ready: check("add") grades a step, '
      'hint("add") gives a nudge.')'''



# ---------------------------------------------------------------- building
def _segments(source: str) -> dict[str, tuple[int, int]]:
    """'Value.__add__' / 'Neuron' / 'train_step' -> (first line, last line), 1-based."""
    spans: dict[str, tuple[int, int]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            spans[node.name] = (start, node.end_lineno or node.lineno)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    spans[f"{node.name}.{item.name}"] = (item.lineno, item.end_lineno or item.lineno)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            spans[node.targets[0].id] = (node.lineno, node.end_lineno or node.lineno)
    return spans


def _lines(source: str, span: tuple[int, int]) -> str:
    lines = source.splitlines()
    return "\n".join(lines[span[0] - 1:span[1]])


def _comment_above(source: str, line: int) -> int:
    """Include the `# ## Step ...` heading comment right above a definition, if any."""
    lines = source.splitlines()
    while line > 1 and lines[line - 2].strip().startswith("# ## Step"):
        line -= 1
    return line


def _for_notebook(code: str) -> str:
    """The stubs' words for a notebook: the step's cell is the place to look, and check() and
    hint() are what to run, not the command line."""
    code = re.sub(r" in (engine|nn|train|extensions)\.py\"\)", "\")", code)
    code = re.sub(r"`python -m grader hint (\w+)`", r'`hint("\1")`', code)
    code = re.sub(r"`python -m grader --step (\w+)` checks it", "the check cell below checks it",
                  code)
    return code.replace("`python -m grader`", "`check()`")


def _code(module: str, part: str, body: str) -> Any:
    source = f"# micrograd-kit {module}:{part}  (keep this line: it tells the grader which cell this is)\n" \
             + body.strip("\n")
    meta = {"micrograd_kit": {"module": module, "part": part}}
    if part in steps.STEP_IDS:
        meta["micrograd_kit"]["step"] = part
    return nbformat.v4.new_code_cell(source, metadata=meta)


def build(tree: Path, install_from: str = "") -> Any:
    """The notebook for exercises/ (stubs) or solutions/ (complete), from those very files.
    `install_from`: where its setup cell installs the kit from when a kernel lacks it."""
    engine = (tree / "engine.py").read_text(encoding="utf-8")
    nn = (tree / "nn.py").read_text(encoding="utf-8")
    train = (tree / "train.py").read_text(encoding="utf-8")
    extensions = (tree / "extensions.py").read_text(encoding="utf-8")
    e, n, t, x = _segments(engine), _segments(nn), _segments(train), _segments(extensions)

    # The Value class without the four methods the steps add.
    cls_start, cls_end = e["Value"]
    drop: set[int] = set()
    for name in [*[steps.get(step).todos[0] for step in VALUE_STEPS], *ACTIVATIONS]:
        first, last = e[name]
        first = _comment_above(engine, first)
        drop.update(range(first, last + 1))
        # and the blank line after it
        if last + 1 <= cls_end and not engine.splitlines()[last].strip():
            drop.add(last + 1)
    base_lines = [line for k, line in enumerate(engine.splitlines()[cls_start - 1:cls_end],
                                                start=cls_start) if k not in drop]
    base = "import math\nimport random\nimport sys\n\n\n" + "\n".join(base_lines)

    def methods(names: Sequence[str]) -> str:
        texts = [textwrap.dedent(_lines(engine, (_comment_above(engine, e[n][0]), e[n][1])))
                 for n in names]
        attach = "\n".join(f"Value.{n.split('.')[1]} = {n.split('.')[1]}" for n in names)
        return "\n\n\n".join(texts) + f"\n\n\n{attach}  # attach to the class"

    def method(step: str) -> str:
        return methods(steps.get(step).todos[:1])

    cells = [nbformat.v4.new_markdown_cell(INTRO),
             nbformat.v4.new_code_cell(SETUP_CELL.format(source=install_from),
                                       metadata={"micrograd_kit": {"setup": True}}),
             nbformat.v4.new_markdown_cell(EXPLANATIONS["base"]), _code("engine", "base", base)]
    for step in VALUE_STEPS:
        cells += [nbformat.v4.new_markdown_cell(explanation(step)),
                  _code("engine", step, _for_notebook(method(step))),
                  _check(step)]
    cells += _example("example_neuron")
    cells += [nbformat.v4.new_markdown_cell(explanation("neuron", "neuron")),
              _code("nn", "neuron", _for_notebook(_lines(nn, n["Neuron"]))), _check("neuron")]
    layers = _lines(nn, (n["Layer"][0], n["MLP"][1]))
    cells += [nbformat.v4.new_markdown_cell(explanation("network", "layers")),
              _code("nn", "layers", layers), _check("network")]
    cells += _example("example_network")
    data = _lines(train, (_comment_above(train, t["XS"][0]), t["YS"][1]))
    cells += [nbformat.v4.new_markdown_cell(explanation("training", "data")), _code("train", "data", data),
              nbformat.v4.new_markdown_cell(EXPLANATIONS["training"]),
              _code("train", "training", _for_notebook(_lines(train, t["train_step"]))),
              nbformat.v4.new_markdown_cell(EXPLANATIONS["loop"]),
              _code("train", "loop", _lines(train, (t["train"][0], t["sparkline"][1]))),
              _check("training")]
    cells += _example("example_training")
    # The bonus steps, scored apart.
    cells += [nbformat.v4.new_markdown_cell(EXPLANATIONS["activations"]),
              _code("engine", "activations", _for_notebook(methods(ACTIVATIONS))),
              _check("activations")]
    softmax = _lines(extensions, (_comment_above(extensions, x["softmax"][0]),
                                  x["cross_entropy"][1]))
    classifier = _lines(extensions, (_comment_above(extensions, x["train_classifier"][0]),
                                     x["train_classifier"][1]))
    flowers = "\n\n\n".join(_lines(extensions, x[name]) for name in
                             ("IRIS", "load_iris", "standardize", "predict", "main"))
    cells += [nbformat.v4.new_markdown_cell(EXPLANATIONS["softmax"]),
              _code("extensions", "softmax", _for_notebook(softmax)), _check("softmax"),
              nbformat.v4.new_markdown_cell(EXPLANATIONS["flowers"]),
              _code("extensions", "flowers", flowers),
              nbformat.v4.new_markdown_cell(EXPLANATIONS["classifier"]),
              _code("extensions", "classifier", _for_notebook(classifier)),
              _check("classifier")]
    cells += _example("example_classifier")
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["micrograd_kit"] = {"built_from": "solutions" if tree.name == "solutions"
                                    else "exercises"}
    nbformat.validate(nb)
    return nb


def explanation(step: str, key: str = "") -> str:
    """The text above a step's cell, numbered by the step's place in the table. A step added
    without a text of its own here gets its title and hint."""
    number = steps.CORE_IDS.index(step) + 1 if step in steps.CORE_IDS else 0
    text = EXPLANATIONS.get(key or step)
    if text is None:
        meta = steps.get(step)
        text = f"## Step N: {meta.title}\n\n{meta.hint}"
    return text.replace("## Step N:", f"## Step {number}:" if number else "## Bonus:", 1)


def _check(step: str) -> Any:
    return nbformat.v4.new_code_cell(CHECK_CELL.format(step=step),
                                     metadata={"micrograd_kit": {"check": step}})


def _example(key: str) -> list[Any]:
    return [nbformat.v4.new_markdown_cell(EXPLANATIONS[key]),
            nbformat.v4.new_code_cell(EXAMPLES[key], metadata={"micrograd_kit": {"example": key}})]


def write(out: Path, solutions: bool = False, kit_root: Path = KIT_ROOT,
          install_from: str = "") -> Path:
    """Write the notebook: complete from solutions/, or from the stubs as shipped (never from
    exercises/, which in a checkout holds the student's own work)."""
    tree = kit_root / "solutions" if solutions else starter_folder()
    nb = build(tree, install_from)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))
    return out


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader notebook",
        description="Build the kit as one Jupyter notebook, from the stubs as shipped (or "
                    "solutions/); never from your own work in exercises/.")
    parser.add_argument("--solutions", action="store_true",
                        help="fill in every step from solutions/ (instructors)")
    parser.add_argument("--out", type=Path, default=Path("micrograd.ipynb"),
                        help="where to write it (default micrograd.ipynb)")
    parser.add_argument("--install-from", default="", metavar="SOURCE",
                        help="what the notebook's first cell installs the kit from when a kernel "
                             "lacks it (Colab): anything pip installs, such as the URL of a "
                             "wheel or git+https://... of the kit's repository")
    args = parser.parse_args(argv)
    if args.solutions:
        options.need_solutions(parser)
    out = write(args.out, solutions=args.solutions, install_from=args.install_from)
    where = (f"its first cell installs the kit from {args.install_from} where it is missing"
             if args.install_from else "the kit must be installed in its kernel")
    print(f"wrote {out}: open it in Jupyter, VS Code or Colab ({where}).")
    print(f"Grade a saved copy with: python -m grader {out}")
    return 0
