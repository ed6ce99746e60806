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
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # d(a+b)/da = d(a+b)/db = 1: the upstream gradient passes through unchanged.
            # += and not =: a value used twice receives a contribution from each use.
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    # ## Step mul
    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            # d(a*b)/da = b and d(a*b)/db = a: each input's gradient is the *other* input.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        assert isinstance(exponent, (int, float)), "only constant int or float exponents"
        out = Value(self.data ** exponent, (self,), f"**{exponent}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    # ## Step tanh
    def tanh(self):
        # math.tanh is accurate and never overflows, even for inputs like 1000.
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            # The derivative is written with the output t: d tanh(x)/dx = 1 - tanh(x)^2 = 1 - t^2.
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    # ## Step backward
    def backward(self):
        # Order the graph so every node comes after all the nodes it was computed from: a
        # depth-first search that places a node once all its inputs are placed. It keeps its
        # own stack instead of recursing, so a graph thousands of nodes deep is no problem.
        order = []
        seen = set()
        stack = [(self, False)]
        while stack:
            node, inputs_placed = stack.pop()
            if inputs_placed:
                order.append(node)
            elif node not in seen:   # a shared node is placed once, however many paths lead to it
                seen.add(node)
                stack.append((node, True))
                stack.extend((parent, False) for parent in node._prev)

        # d(self)/d(self) = 1: this is where the chain rule starts.
        self.grad = 1.0
        # Walk from the output back to the inputs: by the time a node pushes its gradient on,
        # every node that uses it has already added its share to node.grad.
        for node in reversed(order):
            node._backward()

    # ## Step activations (bonus)
    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            # The slope is 1 where the input is positive and 0 elsewhere.
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        # Two forms of 1 / (1 + e^-x), so that exp() only ever sees a negative argument.
        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:
            e = math.exp(self.data)
            s = e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad   # e^x is its own derivative

        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

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
