"""A small neural network built only from Values: neurons, layers and a multi-layer perceptron."""

import random

from engine import Value


# ## Step neuron
class Neuron:
    """tanh(w . x + b): one weight per input and a bias."""

    def __init__(self, n_inputs):
        # Small random weights break the symmetry between neurons; the bias can start at 0.
        self.w = [Value(random.uniform(-1, 1)) for _ in range(n_inputs)]
        self.b = Value(0.0)

    def __call__(self, x):
        # Start the sum from the bias so it is part of the graph like every weight.
        activation = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return activation.tanh()

    def parameters(self):
        # The weights, then the bias: everything training should adjust.
        return self.w + [self.b]


class Layer:
    """A row of neurons that all read the same inputs."""

    def __init__(self, n_inputs, n_outputs):
        self.neurons = [Neuron(n_inputs) for _ in range(n_outputs)]

    def __call__(self, x):
        outs = [neuron(x) for neuron in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP:
    """Layers in sequence: each layer's outputs are the next layer's inputs."""

    def __init__(self, n_inputs, layer_sizes):
        sizes = [n_inputs] + list(layer_sizes)
        self.layers = [Layer(sizes[i], sizes[i + 1]) for i in range(len(layer_sizes))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]
