"""Name a mistake from an exception: where it happened (the student's line, the kit's given code,
a step's TODO) and what Python said, each rule a sentence that names one cause or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, TypedDict

from .. import ops, steps
from ..sandbox.tasks import ErrorAnswer, Frame


def given_function(file: str, function: str) -> bool:
    """Whether file:function is code the kit hands out complete (not a TODO)."""
    return function in steps.GIVEN.get(file, ())


def short_name(function: str) -> str:
    """`Value.tanh.<locals>._backward` -> `Value.tanh's _backward`; comprehensions dropped."""
    parts = [p for p in function.split(".") if p not in ("<locals>", "<listcomp>", "<genexpr>",
                                                         "<lambda>", "<dictcomp>", "<setcomp>")]
    if len(parts) > 1 and parts[-1] == "_backward":
        return f"{'.'.join(parts[:-1])}'s _backward"
    return ".".join(parts) or function


def step_of(file: str, function: str) -> str | None:
    """The step whose TODO a function of the student's is (a closure counts as its method's:
    Value.__mul__.<locals>._backward is mul's)."""
    method = function.split(".<locals>")[0]
    # A notebook's cell defines a method at the top of its module and attaches it to Value.
    names = (method, f"Value.{method}") if file == "engine.py" and "." not in method else \
        (method,)
    for step in steps.STEPS:
        if step.file == file and any(name in step.todos for name in names):
            return step.id
    return None


def owners_of(error: ErrorAnswer) -> list[str | None]:
    """Whose code each frame of an error is, innermost first: a step id, a given function's
    name (code the kit hands out), or None (a function of the student's own)."""
    found: list[str | None] = []
    for frame in reversed([f for f in error.get("stack") or [] if isinstance(f, dict)]):
        file, function = str(frame.get("file")), str(frame.get("function"))
        found.append(function if given_function(file, function) else step_of(file, function))
    return found


def missing_operation(error: ErrorAnswer) -> bool:
    """An error Python raised because the Value has no such operation (2 ** a, 0 + a)."""
    message = str(error.get("message", ""))
    return (error.get("type") == "TypeError" and "unsupported operand type" in message and
            "'Value'" in message) or (error.get("type") == "AttributeError" and
                                      "'Value' object has no attribute '__" in message)


SYMBOLS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "** or pow()": "pow",
           "**": "pow"}


def operation_of(error: ErrorAnswer) -> str | None:
    """The Value method an "unsupported operand" error asks for: `2 + a` gives __radd__,
    `a ** 2` __pow__; None for any other error."""
    message = str(error.get("message", ""))
    if error.get("type") != "TypeError" or "unsupported operand type(s) for " not in message:
        return None
    symbol, _, operands = message.split("unsupported operand type(s) for ", 1)[1] \
        .partition(": ")
    name = SYMBOLS.get(symbol.strip())
    left, _, right = operands.partition(" and ")
    if name is None:
        return None
    if left.strip() == "'Value'":
        return f"__{name}__"
    return f"__r{name}__" if right.strip() == "'Value'" else None


class GivenState(TypedDict, total=False):
    """One given operation on the student's engine: the error it raised, or what is wrong with
    it (empty: it works)."""
    error: ErrorAnswer
    broken: str


@dataclass
class Raised:
    """An exception as the worker reported it, and where: its innermost frame."""

    error: ErrorAnswer
    etype: str
    message: str
    stack: list[Frame]
    file: str
    function: str
    name: str                   # the function, as the student reads it (Value.tanh's _backward)
    place: str                  # file:line
    inputs: Sequence[float]     # the values the failing probe started from, when known
    changed: Sequence[str]      # the given functions the submission changed


def from_error(step: str, error: ErrorAnswer, inputs: Sequence[float] = (),
               changed: Sequence[str] = ()) -> str | None:
    """A diagnosis for an exception, from where it happened (not from the step being graded).
    `inputs`: the values the failing probe started from, when it knows them; `changed`: the
    given functions the submission changed (the evidence that given code is to blame)."""
    stack = [f for f in error.get("stack") or [] if isinstance(f, dict)]
    if not stack:
        return None
    innermost = stack[-1]
    file, function = str(innermost.get("file")), str(innermost.get("function"))
    raised = Raised(error, str(error.get("type", "")), str(error.get("message", "")), stack,
                    file, function, short_name(function), f"{file}:{innermost.get('line')}",
                    inputs, changed)
    if given_function(file, function):
        return _in_given_code(raised)
    for rule in RULES:
        said = rule(raised)
        if said is not None:
            return said
    return _by_message(raised)


def _in_given_code(r: Raised) -> str:
    """An error in code the kit hands out complete: what reached it is to blame, unless it
    was changed."""
    if r.function == "Value.__init__" and r.etype == "TypeError" and \
            "'Value' object is not iterable" in r.message and len(r.stack) > 1:
        maker = r.stack[-2]
        return (f"{short_name(str(maker.get('function')))} ({maker.get('file')}:"
                f"{maker.get('line')}) gives Value(...) one Value where the tuple of "
                f"children belongs: (self) is only self in parentheses. Write (self,), a "
                f"tuple of one.")
    if r.function in r.changed:
        return (f"the error is in {r.name} ({r.place}), code the kit hands out complete: it "
                f"has been changed. Put back the kit's version of it.")
    # The kit's own code, as handed out: what reached it from the student's code is wrong.
    caller = next((f for f in reversed(r.stack[:-1])
                   if not given_function(str(f.get("file")), str(f.get("function")))), None)
    if caller is not None:
        return (f"the error happens in {r.name} ({r.place}), the kit's own code, when "
                f"{short_name(str(caller.get('function')))} ({caller.get('file')}:"
                f"{caller.get('line')}) calls it: look at what that line gives it.")
    return (f"the error happens in {r.name} ({r.place}), the kit's own code as handed out: "
            f"something it uses from your Value is not as it expects.")


def _overflow(r: Raised) -> str | None:
    if r.etype != "OverflowError":
        return None
    big = max(r.inputs, key=abs) if r.inputs else None
    at = f" for an input of {big:g}" if big is not None else ""
    tail = ""
    if r.name.endswith(".tanh") or r.name == "tanh":
        tail = " (math.tanh computes tanh without ever overflowing)"
    elif r.name.startswith(("softmax", "cross_entropy")):
        tail = " (shifting every score by the same constant changes neither function)"
    return (f"{r.name} ({r.place}) overflows{at}: it calls exp() (or cosh, sinh) on a number "
            f"so large that the result does not fit in a float. Rearrange it so that exp() "
            f"only ever sees an argument at or below 0{tail}.")


def _timeout(r: Raised) -> str | None:
    if r.error.get("kind") not in ("timeout", "run_timeout"):
        return None
    loop = r.error.get("loop")
    text = str(r.stack[-1].get("text") or "")
    return (f"{r.name} ({r.place}) was still running when it was stopped"
            + (f", inside the loop that starts at {r.file}:{loop}: check that every pass "
               f"brings the loop closer to its end (something is taken off what it walks, "
               f"or a counter moves)" if isinstance(loop, int) else
               (f", at `{text}`" if text else "")) + ".")


def _withheld_module(r: Raised) -> str | None:
    if r.error.get("kind") != "withheld" and r.etype != "WithheldError":
        return None
    return _withheld(r.message, r.name, r.place)


def _misspelt(r: Raised) -> str | None:
    if r.etype != "AttributeError" or "Did you mean: '" not in r.message:
        return None
    wrong = r.message.split("no attribute '", 1)[-1].split("'", 1)[0]
    right = r.message.split("Did you mean: '", 1)[1].split("'", 1)[0]
    return (f"{r.name} ({r.place}) reads .{wrong}, which nothing has: a misspelt name, for "
            f".{right} as Python suggests.")


def _domain(r: Raised) -> str | None:
    if r.etype != "ValueError" or "math domain error" not in r.message:
        return None
    softmax = any("cross_entropy" in str(f.get("function")) for f in r.stack)
    return (f"{r.name} ({r.place}) takes the log (or square root) of a number at or below 0"
            + (": a probability from softmax rounds to 0 when one score is far below the "
               "largest. Compute the cross-entropy as log(sum(exp(v - top))) + top - "
               "logits[target], which never takes the log of a probability."
               if softmax else ": look at the values that reach it."))


def _recursion(r: Raised) -> str | None:
    if r.etype != "RecursionError" and r.error.get("kind") != "recursion":
        return None
    return (f"{r.name} ({r.place}) recursed too deep. For a long chain of operations a "
            f"recursive walk needs more than Python's default limit of 1000 calls: walk "
            f"with a stack of your own, or raise the limit with sys.setrecursionlimit.")


# The rules that read more than the message, in the order they are tried.
RULES: tuple[Callable[[Raised], str | None], ...] = (
    _overflow, _timeout, _withheld_module, _misspelt, _domain, _recursion)

# The rest is said by the exception's type and words: (type, words all in the message, words
# one of which is, the sentence), the first that fits.
NUMBERS = ("'float'", "'int'")
BY_MESSAGE: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("ZeroDivisionError", (), (),
     "{name} ({place}) divides by zero: with an input of 0, what it divides by is 0. Compute "
     "the local derivative without dividing by an input."),
    ("AttributeError", ("object has no attribute 'backward'",), NUMBERS,
     "{name} ({place}) calls backward() on a plain number: the loss was computed from .data "
     "(or float()), which leaves the graph. Compute it with the Values themselves, so "
     "backward() can reach every parameter."),
    ("AttributeError", (), ("'float' object has no attribute", "'int' object has no attribute"),
     "a plain number (as in a + 2 or a * 2) reached {name} ({place}), which reads an attribute "
     "of a Value from it: wrap a number in a Value first."),
    ("TypeError", ("can only concatenate list",), (),
     "{name} ({place}) adds something that is not a list to a list: a list can only be joined "
     "with another list."),
    ("TypeError", ("unsupported operand",), ("'list'", "'tuple'"),
     "a list reached {name} ({place}) where a number or a Value belongs: look at what the code "
     "that calls it hands it."),
    ("TypeError", ("unsupported operand", "'NoneType'"), (),
     "{name} ({place}) computes with None: a .grad (or .data) that is None where a number "
     "belongs. Start gradients at 0 (or treat None as 0 where you add to them)."),
    ("TypeError", ("unsupported operand", "'Value'"), NUMBERS,
     "a plain number met a Value in {name} ({place}): wrap the number in a Value first."),
)


def _by_message(r: Raised) -> str | None:
    for etype, every, some, sentence in BY_MESSAGE:
        if r.etype == etype and all(w in r.message for w in every) and \
                (not some or any(w in r.message for w in some)):
            return sentence.format(name=r.name, place=r.place)
    return None


# What a Value's one number needs instead of numpy (or torch): the function that does it.
SCALAR_EQUIVALENTS = {
    "tanh": "math.tanh(x)", "exp": "math.exp(x)", "log": "math.log(x)", "sqrt": "math.sqrt(x)",
    "abs": "abs(x)", "absolute": "abs(x)", "maximum": "max(a, b)", "minimum": "min(a, b)",
    "max": "max(...)", "min": "min(...)", "power": "x ** k", "sum": "sum(...)",
    "dot": "sum(w * x for w, x in zip(ws, xs))", "mean": "statistics.mean(xs)",
    "clip": "max(low, min(high, x))", "sign": "math.copysign(1, x)", "pi": "math.pi",
    "e": "math.e", "inf": "math.inf", "isclose": "math.isclose(a, b)", "array": "a list",
    "zeros": "[0.0] * n", "ones": "[1.0] * n", "uniform": "random.uniform(a, b)",
    "randn": "random.gauss(0, 1)", "normal": "random.gauss(mu, sigma)",
    "rand": "random.random()", "random": "random.random()", "seed": "random.seed(n)",
    "choice": "random.choice(xs)", "shuffle": "random.shuffle(xs)",
}


def _withheld(message: str, name: str, place: str) -> str | None:
    """A module grading does not provide, used for one number: the function that does it."""
    used = message.split(" is not available", 1)[0].strip()
    last = used.split("(")[0].rsplit(".", 1)[-1]
    module = used.split(".", 1)[0]
    instead = SCALAR_EQUIVALENTS.get(last)
    if instead is None or module not in ("numpy", "np", "torch", "scipy", "jax"):
        return None
    return (f"{name} ({place}) uses {used.split('(')[0]}, which grading does not provide "
            f"(a Value holds one number, where numpy works on arrays): {instead} does it.")


# ------------------------------------------------------------------------ the given operations
GIVEN_GRAPHS: dict[str, ops.Spec] = {
    "Value.__sub__": [["leaf", 1.3], ["leaf", -0.6], ["sub", 0, 1]],
    "Value.__rsub__": [["leaf", 0.7], ["csub", 2.0, 0]],
    "Value.__neg__": [["leaf", 1.4], ["neg", 0]],
    "Value.__pow__": [["leaf", 1.2], ["pow", 0, 3]],
    "Value.__truediv__": [["leaf", 1.5], ["leaf", -0.8], ["div", 0, 1]],
    "Value.__rtruediv__": [["leaf", 1.6], ["cdiv", 2.0, 0]],
    "Value.__radd__": [["leaf", -0.9], ["cadd", 2.5, 0]],
    "Value.__rmul__": [["leaf", 1.1], ["cmul", -2.0, 0]],
}


def given_operations(results: Mapping[str, GivenState]) -> list[str]:
    """The given operations whose values or gradients are wrong, each in one sentence."""
    broken = []
    for name, result in results.items():
        if result.get("broken"):
            broken.append(f"the given {name} gives {result['broken']}: it has been changed "
                          f"from the kit's version (put it back from the kit's exercises/)")
    return broken
