"""A scalar autograd engine: each Value remembers how it was made, so backward() can apply the chain rule."""

import math


class Value:
    """A number that keeps a record of the operations that produced it."""

    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0                # d(output)/d(this value), filled in by backward()
        self._backward = lambda: None  # pushes this node's grad to its inputs; leaves have nothing to push
        self._prev = set(_children)    # the Values this one was computed from
        self._op = _op                 # which operation made it, for printing and debugging

    def __repr__(self):
        return f"Value(data={self.data:.4f}, grad={self.grad:.4f})"

    # ## Step add
    def __add__(self, other):
        # TODO(add): return a new Value holding self.data + other.data.
        #  - `other` may be a plain number (a + 2): wrap it in a Value first.
        #  - Link the result to its inputs: Value(..., (self, other), "+").
        #  - Give the result a _backward function that adds the result's grad, times the local
        #    derivative of a + b, into self.grad and other.grad.
        #  `python -m grader hint add` gives a nudge; `python -m grader --step add` checks it.
        raise NotImplementedError("TODO(add): implement Value.__add__ in engine.py")

    # ## Step mul
    def __mul__(self, other):
        # TODO(mul): return a new Value holding self.data * other.data, linked to both inputs,
        #  with a _backward that applies the local derivatives of a * b times the result's grad.
        raise NotImplementedError("TODO(mul): implement Value.__mul__ in engine.py")

    def __pow__(self, exponent):
        assert isinstance(exponent, (int, float)), "only constant int or float exponents"
        out = Value(self.data ** exponent, (self,), f"**{exponent}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    # ## Step tanh
    def tanh(self):
        # TODO(tanh): return a new Value holding tanh(self.data), linked to self, with a _backward.
        #  math.tanh is already imported. Work out d tanh(x)/dx before you write it.
        raise NotImplementedError("TODO(tanh): implement Value.tanh in engine.py")

    # ## Step backward
    def backward(self):
        # TODO(backward): fill in .grad for every Value this one was computed from.
        #  1. Put the nodes of the graph in an order where each node comes after its inputs.
        #  2. The gradient of this value with respect to itself is 1.
        #  3. Call each node's _backward, starting from this value and going towards the inputs.
        raise NotImplementedError("TODO(backward): implement Value.backward in engine.py")

    # ## Step activations (bonus)
    def relu(self):
        # TODO(activations): max(0, x), with a _backward.
        raise NotImplementedError("TODO(activations): implement Value.relu in engine.py")

    def sigmoid(self):
        # TODO(activations): 1 / (1 + e^-x), with a _backward; it must not overflow for x = -1000.
        raise NotImplementedError("TODO(activations): implement Value.sigmoid in engine.py")

    def exp(self):
        # TODO(activations): e^x, with a _backward.
        raise NotImplementedError("TODO(activations): implement Value.exp in engine.py")

    def log(self):
        # TODO(activations): the natural logarithm (for x > 0), with a _backward.
        raise NotImplementedError("TODO(activations): implement Value.log in engine.py")

    # Everything below is built from the operations above.
    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other ** -1

    def __rtruediv__(self, other):  # other / self
        return other * self ** -1
