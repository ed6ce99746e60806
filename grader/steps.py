"""The curriculum, declared once: every command, the scoring and the docs read this table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    points: int
    file: str                   # the file in exercises/ that holds the step's TODOs
    todos: tuple[str, ...]      # functions with a `TODO(<id>)` stub; () when the step has no TODO
    needs: tuple[str, ...]      # steps its end-to-end check runs through (the others need none)
    hint: str
    likely: str = ""            # what usually causes a failure nothing more specific explains
    bonus: bool = False         # an extension: scored apart from the 100 points

    @property
    def checkpoint(self) -> bool:
        """A step of given code: reported, worth no points (no step pays for the kit's code)."""
        return self.points == 0

    @property
    def where(self) -> str:
        return f"{self.file}: {', '.join(self.todos)}" if self.todos else self.file


STEPS: tuple[Step, ...] = (
    Step(
        id="add",
        title="Addition: Value.__add__",
        points=10,
        file="engine.py",
        todos=("Value.__add__",),
        needs=(),
        hint=(
            "Three beats, the same in every operation: compute the result's data, build the result "
            "Value with its inputs as children, and attach a _backward closure. For out = a + b, how "
            "much does out move when a moves by a little? That number, times out.grad, is what a "
            "receives. Ask yourself what should happen when the same Value is added to itself "
            "(a + a): two contributions arrive at a, and neither may erase the other. And a + 2 "
            "must work too: 2 has no .data until you give it one."
        ),
        likely=(
            "Likely causes: the result not linked to its inputs, `=` where `+=` belongs, out.grad "
            "missing from the chain rule, or a plain number (a + 2) not wrapped in a Value."
        ),
    ),
    Step(
        id="mul",
        title="Multiplication: Value.__mul__",
        points=10,
        file="engine.py",
        todos=("Value.__mul__",),
        needs=(),
        hint=(
            "Same shape as __add__. Write down d(a*b)/da and d(a*b)/db on paper first: each "
            "derivative is one of the inputs, but which one? Try a = 2, b = 5 and nudge a by 0.001 "
            "to see how much a*b moves. Remember that the result may itself feed into later "
            "operations, so its own gradient (out.grad) is part of every contribution."
        ),
        likely=(
            "Likely causes: the two local gradients mixed up, `=` where `+=` belongs, out.grad "
            "missing from the chain rule, or a plain number (a * 2) not wrapped in a Value."
        ),
    ),
    Step(
        id="tanh",
        title="Activation: Value.tanh",
        points=15,
        file="engine.py",
        todos=("Value.tanh",),
        needs=(),
        hint=(
            "tanh(x) has a neat derivative that can be written using only its own output t. Look "
            "it up or derive it from tanh = sinh/cosh, then decide whether your closure should use "
            "the input x or the output t. Test your forward value with x = 1000 and x = -1000: "
            "a formula built from exp() can overflow there, math.tanh does not."
        ),
        likely=(
            "Likely causes: the derivative written with the input where it needs the output, `=` "
            "where `+=` belongs, out.grad missing, or a forward formula that overflows."
        ),
    ),
    Step(
        id="backward",
        title="Backpropagation: Value.backward",
        points=20,
        file="engine.py",
        todos=("Value.backward",),
        needs=(),
        hint=(
            "A node may push its gradient to its inputs only once every node that uses it has "
            "finished adding to its .grad. Find an order of all nodes where each node comes after "
            "the nodes it was made from (a depth-first search over _prev does it), then walk that "
            "order from the output end. Two things to get right: a node reached by two paths must "
            "appear only once, and the output's own gradient has to start somewhere other than 0."
        ),
        likely=(
            "Likely causes: a node visited twice, an order that is not topological, the output's "
            "gradient not started at 1, or .grad changed after the walk."
        ),
    ),
    Step(
        id="neuron",
        title="A neuron: nn.Neuron",
        points=20,
        file="nn.py",
        todos=("Neuron.__init__", "Neuron.__call__", "Neuron.parameters"),
        needs=(),
        hint=(
            "A neuron holds one weight Value per input and one bias Value; each weight needs its "
            "own Value (a list made with [Value(...)] * n holds the same object n times). Its "
            "output is the tanh of the weighted sum plus the bias. parameters() must list every "
            "Value training should change, or training will never touch the missing ones."
        ),
        likely=(
            "Likely causes: the weights and inputs paired up wrongly, the bias or tanh missing or "
            "in the wrong place, or parameters() not listing every Value."
        ),
    ),
    Step(
        id="network",
        title="Layers and the MLP with your Neuron: nn.Layer, nn.MLP",
        points=0,
        file="nn.py",
        todos=(),
        needs=(),
        hint=(
            "Layer and MLP are given: they only combine your Neurons, so this checkpoint earns "
            "no points of its own. If it fails while neuron passes, check that you did not "
            "change Layer or MLP, and that Neuron.parameters() returns a fresh list each time "
            "(not one list it keeps and extends). When it passes, train_step is graded on your "
            "own network."
        ),
        likely=(
            "Likely causes: Layer or MLP changed from the kit's given code, or Neuron.parameters() "
            "returning the same list each time."
        ),
    ),
    Step(
        id="training",
        title="Gradient descent: train.train_step",
        points=25,
        file="train.py",
        todos=("train_step",),
        needs=("add", "mul", "tanh", "backward", "neuron", "network"),
        hint=(
            "Five moves per step: predict, measure the loss, clear old gradients, backward, update. "
            "backward() adds into .grad, so gradients from the previous step must be cleared before "
            "it runs. The gradient points uphill: which sign makes the loss go down? Return the "
            "loss Value you called backward() on."
        ),
        likely=(
            "Likely causes: the loss not summed over every example, gradients not cleared before "
            "backward(), or the update not -learning_rate * p.grad."
        ),
    ),
)

BONUS_STEPS: tuple[Step, ...] = (
    Step(
        id="activations",
        title="More activations: relu, sigmoid, exp, log",
        points=10,
        file="engine.py",
        todos=("Value.relu", "Value.sigmoid", "Value.exp", "Value.log"),
        needs=(),
        bonus=True,
        hint=(
            "The same three beats as tanh, four times. For each, write the derivative as simply "
            "as you can, preferably with the output you already computed: exp is its own "
            "derivative, and sigmoid's derivative is a product of s and something. relu's slope "
            "is 0 or 1 depending on one comparison. For sigmoid, 1 / (1 + exp(-x)) overflows for "
            "x = -1000: use another form of the same function when x is negative."
        ),
        likely=(
            "Likely causes: a derivative written with the input where it needs the output (or the "
            "other way round), `=` where `+=` belongs, out.grad missing, or an exp() that "
            "overflows."
        ),
    ),
    Step(
        id="softmax",
        title="Softmax and cross-entropy",
        points=10,
        file="extensions.py",
        todos=("softmax", "cross_entropy"),
        needs=(),
        bonus=True,
        hint=(
            "softmax turns scores into probabilities: exponentiate, then divide by the sum. "
            "exp(1000) overflows, but softmax(x) equals softmax(x - c) for any constant c: which "
            "c keeps every exponent at or below 0? Cross-entropy is -log of the target's "
            "probability; computing it as a log of a sum of exponentials minus the target's "
            "score (with the same shift) never takes the log of 0."
        ),
        likely=(
            "Likely causes: the probabilities not divided by their sum, exp() of unshifted scores, "
            "or the loss not -log of the target's probability."
        ),
    ),
    Step(
        id="classifier",
        title="A classifier for the Iris flowers",
        points=10,
        file="extensions.py",
        todos=("train_classifier",),
        needs=("add", "mul", "tanh", "backward", "neuron", "network", "activations", "softmax"),
        bonus=True,
        hint=(
            "Reuse everything: an MLP whose last layer has one neuron per class, its outputs "
            "as scores (tanh keeps them in (-1, 1), so scale them up before the softmax), the "
            "mean cross-entropy over a small batch as the loss, and the same step as train_step. "
            "A few hundred updates are enough; shuffle the examples with the seed you are given."
        ),
        likely=(
            "Likely causes: outputs not scaled before the softmax, gradients not cleared, the "
            "learning rate or the number of epochs, or the classes' order."
        ),
    ),
)

CORE_STEPS: tuple[Step, ...] = STEPS
STEPS = STEPS + BONUS_STEPS
STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)
CORE_IDS: tuple[str, ...] = tuple(step.id for step in CORE_STEPS)
TOTAL_POINTS: int = sum(step.points for step in CORE_STEPS)
BONUS_POINTS: int = sum(step.points for step in BONUS_STEPS)
_BY_ID = {step.id: step for step in STEPS}


def get(step_id: str) -> Step:
    return _BY_ID[step_id]


def all_needs(step_id: str) -> tuple[str, ...]:
    """Every step that `step_id` depends on, directly or not, in curriculum order."""
    found: set[str] = set()
    pending = list(get(step_id).needs)
    while pending:
        need = pending.pop()
        if need not in found:
            found.add(need)
            pending.extend(get(need).needs)
    return tuple(s for s in STEP_IDS if s in found)


SUBMISSION_FILES: tuple[str, ...] = ("engine.py", "nn.py", "train.py")
EXTENSION_FILE = "extensions.py"       # only the bonus steps need it
ALL_FILES: tuple[str, ...] = SUBMISSION_FILES + (EXTENSION_FILE,)

# The code the kit hands out complete, by file: an error there is named as a change to given
# code, not blamed on a step. Everything else in exercises/ is a step's TODO (a test checks).
GIVEN: dict[str, tuple[str, ...]] = {
    "engine.py": ("Value.__init__", "Value.__repr__", "Value.__pow__", "Value.__neg__",
                  "Value.__radd__", "Value.__sub__", "Value.__rsub__", "Value.__rmul__",
                  "Value.__truediv__", "Value.__rtruediv__"),
    "nn.py": ("Layer.__init__", "Layer.__call__", "Layer.parameters", "MLP.__init__",
              "MLP.__call__", "MLP.parameters"),
    "train.py": ("train", "sparkline", "main"),
    "extensions.py": ("predict", "load_iris", "standardize", "main"),
}


def given_file(function: str) -> str | None:
    """The file that hands out a given function ("Value.__pow__" -> "engine.py")."""
    return next((file for file, names in GIVEN.items() if function in names), None)
