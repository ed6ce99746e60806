"""The stand-in engine: a Value the grader puts in place of the student's engine.py.

The neuron, network, training and softmax steps are graded on the student's nn.py, train.py and
extensions.py running on this Value, so that a mistake in an operation or in backward() costs
points in its own step only. It computes values like any engine (through the operation table)
and gradients by central finite differences over the graph it recorded: it knows no derivative
and no chain rule, so it gives nothing of the engine's steps away.

It runs inside the worker (standard library only); `build(ops)` returns a module named
`engine` with the class `Value`, made with the operation table the caller hands it.
"""

from __future__ import annotations

import itertools
import types
from typing import Any


def build(ops: Any) -> types.ModuleType:
    """A module `engine` whose Value has the kit's public API, on the given operation table."""
    table = dict(ops.OPS)
    gradients = ops.finite_difference_grads
    counter = itertools.count()

    class Value:
        """A number that remembers how it was made; backward() fills in .grad of every Value
        it was made from (by finite differences, in this stand-in)."""

        def __init__(self, data: Any, _children: Any = (), _op: Any = "", *more: Any,
                     **named: Any) -> None:
            # A student's nn.py may pass what its own Value takes (a label, a name): kept, and
            # otherwise ignored. Children given in any position are not needed: the stand-in
            # records its own graph.
            self.data = data
            self.grad = 0.0
            self._prev = tuple(_children) if isinstance(_children, (tuple, list, set)) else ()
            self._op = _op
            self.label = named.get("label", _op if isinstance(_op, str) else "")
            self._backward = lambda: None
            self._how: tuple[str, tuple[Any, ...], Any] | None = None
            self._constant = False
            self._order = next(counter)

        def __repr__(self) -> str:
            return f"Value(data={self.data}, grad={self.grad})"

        # -- making new Values
        def _made(self, name: str, operands: tuple[Any, ...], constant: Any = None) -> Any:
            op = table[name]
            values = [o.data for o in operands]
            if op.shape == "power":
                data = op.forward(values[0], constant)
            else:
                data = op.forward(*values)
            out = Value(data, operands, name)
            out._how = (name, operands, constant)
            return out

        @staticmethod
        def _many(name: str, operands: list[Any]) -> Any:
            values = [Value._wrap(o) for o in operands]
            out = Value(table[name].forward(*[v.data for v in values]), tuple(values), name)
            out._how = (name, tuple(values), None)
            return out

        @staticmethod
        def _wrap(x: Any) -> Any:
            if isinstance(x, Value):
                return x
            leaf = Value(x)
            leaf._constant = True          # a plain number: no gradient needed
            return leaf

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

        # -- gradients
        def backward(self) -> None:
            """Add d(self)/d(leaf) into the .grad of every Value self was made from that was
            not made from others (the parameters and inputs), and set self.grad to 1."""
            nodes: dict[int, Any] = {}
            pending = [self]
            while pending:
                node = pending.pop()
                if id(node) in nodes:
                    continue
                nodes[id(node)] = node
                if node._how is not None:
                    pending.extend(node._how[1])
            ordered = sorted(nodes.values(), key=lambda n: n._order)   # creation: topological
            index = {id(n): i for i, n in enumerate(ordered)}
            spec: list[list[Any]] = []
            for node in ordered:
                if node._how is None:
                    spec.append(["leaf", float(node.data)])
                    continue
                name, operands, constant = node._how
                places = [index[id(o)] for o in operands]
                shape = table[name].shape
                if shape == "power":
                    spec.append([name, places[0], constant])
                elif shape == "binary":
                    spec.append([name, places[0], places[1]])
                elif shape == "many":
                    spec.append([name, places])
                else:
                    spec.append([name, places[0]])
            leaves = [i for i, n in enumerate(ordered) if n._how is None and not n._constant
                      and n is not self]
            grads = gradients(spec, only=leaves)
            for i in leaves:
                ordered[i].grad += grads[i]
            self.grad = 1.0

    Value.__qualname__, Value.__module__ = "Value", "engine"
    engine = types.ModuleType("engine")
    engine.Value = Value                              # type: ignore[attr-defined]
    engine.__doc__ = "The grader's stand-in engine: gradients by finite differences."
    return engine


def build_model(engine: types.ModuleType, draw: Any) -> types.ModuleType:
    """A module `nn` of the grader's own, on the stand-in Value: the network step runs the
    student's Layer and MLP on its Neuron, and the training step runs the student's train_step
    on its MLP, so that each of those steps is graded on its own code only.

    Its neuron is the graph the checks compute expected values from (grader/checks/graphs.py,
    mlp_graph): tanh of one sum node over the products and the bias. `draw` is the random
    draw of a weight (the worker's random.uniform, seeded by each probe)."""
    Value = engine.Value                              # type: ignore[attr-defined]

    class Module:
        """micrograd's Module: what a student's train_step may call besides parameters()."""

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
            terms = [wi * xi for wi, xi in zip(self.w, x)] + [self.b]
            return Value._many("sum", terms).tanh()

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

    nn = types.ModuleType("nn")
    for cls in (Module, Neuron, Layer, MLP):
        # Named as a student's would be: feedback never shows the grader's own names.
        cls.__qualname__, cls.__module__ = cls.__name__, "nn"
        setattr(nn, cls.__name__, cls)
    return nn
