"""The stand-in engine: a Value the grader puts in place of the student's engine.py, so that the
student's nn.py, train.py and extensions.py are graded on their own (a mistake in an operation
or in backward() costs nothing there). It computes values like any engine, and asks the grading
process for gradients: it sends the graph it recorded, and the grader answers with finite
differences. It knows no derivative and no chain rule, and nothing of what it is asked to stand
in for is graded in its process.

The model world adds the grader's own Neuron, Layer and MLP on it (for train_step when the
student's network does not pass yet): a process that grades no Neuron of the student's.

Both are made by factories run with `guards.isolated`: their functions' globals hold a few plain
builtins and nothing of the worker's.
"""

from __future__ import annotations

import builtins as _builtins
import math
import operator
import types
from typing import Any, Callable

import guards

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]

SAFE = {name: vars(_builtins)[name] for name in (
    "__build_class__", "isinstance", "tuple", "list", "set", "dict", "len", "float", "zip",
    "range", "sorted", "enumerate", "staticmethod", "object", "id", "next", "TypeError",
    "ValueError", "ArithmeticError", "str")}


def sigmoid(x: float) -> float:
    # Either form of 1 / (1 + e^-x) keeps exp()'s argument at or below 0 (as grader/ops.py).
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


# The operations it records, by the names of grader/ops.py, and how it computes their values.
FORWARD: dict[str, Callable[..., float]] = {
    "add": operator.add, "mul": operator.mul, "sub": operator.sub, "div": operator.truediv,
    "pow": operator.pow, "neg": operator.neg, "tanh": math.tanh, "exp": math.exp,
    "log": math.log, "relu": lambda x: max(0.0, x), "sigmoid": sigmoid,
    "sum": lambda *xs: math.fsum(xs)}


def make_engine(forward: dict[str, Callable[..., float]], ask: Callable[..., Any],
                counter: Any) -> Any:
    """The class Value of the stand-in engine."""
    class Value:
        """A number that remembers how it was made; backward() fills in .grad of every Value it
        was made from (the grader works the numbers out)."""

        def __init__(self, data: Any, _children: Any = (), _op: Any = "", *more: Any,
                     **named: Any) -> None:
            # A student's nn.py may pass what its own Value takes (a label): kept, ignored.
            self.data = data
            self.grad = 0.0
            self._prev = tuple(_children) if isinstance(_children, (tuple, list, set)) else ()
            self._op = _op
            self.label = named.get("label", "")
            self._how: Any = None
            self._constant = False
            self._order = next(counter)

        def __repr__(self) -> str:
            return f"Value(data={self.data}, grad={self.grad})"

        def _made(self, name: str, operands: tuple[Any, ...], constant: Any = None) -> Any:
            values = [o.data for o in operands]
            data = forward[name](values[0], constant) if name == "pow" else \
                forward[name](*values)
            out = Value(data, operands, name)
            out._how = (name, operands, constant)
            return out

        @staticmethod
        def _wrap(x: Any) -> Any:
            if isinstance(x, Value):
                return x
            leaf = Value(x)
            leaf._constant = True          # a plain number: no gradient needed
            return leaf

        @staticmethod
        def _sum(terms: list[Any]) -> Any:
            values = tuple(Value._wrap(t) for t in terms)
            out = Value(forward["sum"](*[v.data for v in values]), values, "sum")
            out._how = ("sum", values, None)
            return out

        def __add__(self, other: Any) -> Any:
            return self._made("add", (self, self._wrap(other)))

        def __radd__(self, other: Any) -> Any:
            return self._made("add", (self._wrap(other), self))

        def __mul__(self, other: Any) -> Any:
            return self._made("mul", (self, self._wrap(other)))

        def __rmul__(self, other: Any) -> Any:
            return self._made("mul", (self._wrap(other), self))

        def __sub__(self, other: Any) -> Any:
            return self._made("sub", (self, self._wrap(other)))

        def __rsub__(self, other: Any) -> Any:
            return self._made("sub", (self._wrap(other), self))

        def __truediv__(self, other: Any) -> Any:
            return self._made("div", (self, self._wrap(other)))

        def __rtruediv__(self, other: Any) -> Any:
            return self._made("div", (self._wrap(other), self))

        def __pow__(self, exponent: Any) -> Any:
            return self._made("pow", (self,), exponent)

        def __neg__(self) -> Any:
            return self._made("neg", (self,))

        def tanh(self) -> Any:
            return self._made("tanh", (self,))

        def relu(self) -> Any:
            return self._made("relu", (self,))

        def sigmoid(self) -> Any:
            return self._made("sigmoid", (self,))

        def exp(self) -> Any:
            return self._made("exp", (self,))

        def log(self) -> Any:
            return self._made("log", (self,))

        def backward(self) -> None:
            """Add d(self)/d(leaf) into the .grad of every Value self was made from that was
            not made from others (the parameters and inputs), and set self.grad to 1."""
            nodes: dict[int, Any] = {}
            pending = [self]
            while pending:
                node = pending.pop()
                if id(node) not in nodes:
                    nodes[id(node)] = node
                    pending.extend(node._how[1] if node._how is not None else ())
            ordered = sorted(nodes.values(), key=lambda n: n._order)   # creation: topological
            index = {id(n): i for i, n in enumerate(ordered)}
            spec: list[list[Any]] = []
            for node in ordered:
                if node._how is None:
                    spec.append(["leaf", float(node.data)])
                    continue
                name, operands, constant = node._how
                places = [index[id(o)] for o in operands]
                spec.append([name, places] if name == "sum" else
                            [name, *places, constant] if name == "pow" else [name, *places])
            leaves = [i for i, n in enumerate(ordered)
                      if n._how is None and not n._constant and n is not self]
            grads = ask("gradients", {"spec": spec, "leaves": leaves})
            if not isinstance(grads, list) or len(grads) != len(leaves):
                raise ArithmeticError(
                    "the kit's stand-in engine got no gradients for this graph: a value too "
                    "large, a power that leaves the real numbers (such as x ** 0.5 at x <= 0), "
                    "or a graph of more than 20000 Values")
            for i, g in zip(leaves, grads):
                current = ordered[i].grad           # None: no gradient yet (the PyTorch habit)
                ordered[i].grad = (0.0 if current is None else current) + g
            self.grad = 1.0

    Value.__qualname__, Value.__module__ = "Value", "engine"
    return Value


def make_model(Value: Any, draw: Callable[[float, float], float]) -> dict[str, type]:
    """The grader's Neuron, Layer and MLP on the stand-in Value, with micrograd's Module API
    (parameters() and zero_grad()), as the tutorial writes them."""
    class Module:
        def zero_grad(self) -> None:
            for p in self.parameters():
                p.grad = 0.0

        def parameters(self) -> list[Any]:
            return []

    class Neuron(Module):
        def __init__(self, n_inputs: int, *more: Any, **named: Any) -> None:
            self.w = [Value(draw(-1.0, 1.0)) for _ in range(n_inputs)]
            self.b = Value(0.0)

        def __call__(self, x: Any) -> Any:
            return Value._sum([wi * xi for wi, xi in zip(self.w, x)] + [self.b]).tanh()

        def parameters(self) -> list[Any]:
            return [*self.w, self.b]

    class Layer(Module):
        def __init__(self, n_inputs: int, n_outputs: int) -> None:
            self.neurons = [Neuron(n_inputs) for _ in range(n_outputs)]

        def __call__(self, x: Any) -> Any:
            outs = [neuron(x) for neuron in self.neurons]
            return outs[0] if len(outs) == 1 else outs

        def parameters(self) -> list[Any]:
            return [p for neuron in self.neurons for p in neuron.parameters()]

    class MLP(Module):
        def __init__(self, n_inputs: int, layer_sizes: Any) -> None:
            sizes = [n_inputs, *layer_sizes]
            self.layers = [Layer(sizes[i], sizes[i + 1]) for i in range(len(layer_sizes))]

        def __call__(self, x: Any) -> Any:
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self) -> list[Any]:
            return [p for layer in self.layers for p in layer.parameters()]

    found = {"Module": Module, "Neuron": Neuron, "Layer": Layer, "MLP": MLP}
    for name, cls in found.items():
        # Named as a student's would be: feedback never shows the grader's own names.
        cls.__qualname__, cls.__module__ = name, "nn"
    return found


def engine_module(ask: Callable[..., Any], counter: Any) -> types.ModuleType:
    """A module `engine` holding the stand-in Value."""
    engine = types.ModuleType("engine")
    engine.Value = guards.isolated(make_engine, SAFE)(FORWARD, ask, counter)  # type: ignore
    engine.__doc__ = "The grader's stand-in engine: the grader works out its gradients."
    return engine


def model_module(engine: types.ModuleType, draw: Callable[[float, float], float]
                 ) -> types.ModuleType:
    """A module `nn` of the grader's own, on the stand-in engine."""
    nn = types.ModuleType("nn")
    for name, cls in guards.isolated(make_model, SAFE)(engine.Value, draw).items():
        setattr(nn, name, cls)
    return nn
