"""A small neural network built only from Values: neurons, layers and a multi-layer perceptron."""

import random

from engine import Value


# ## Step neuron
class Neuron:
    """tanh(w . x + b): one weight per input and a bias."""

    def __init__(self, n_inputs):
        # TODO(neuron): store one weight per input in self.w (a list of Values, each drawn
        #  uniformly from [-1, 1]) and a bias in self.b (a Value starting at 0).
        raise NotImplementedError("TODO(neuron): implement Neuron.__init__ in nn.py")

    def __call__(self, x):
        # TODO(neuron): return tanh(w1*x1 + w2*x2 + ... + b) as a Value. x is a list of numbers
        #  or Values, as long as self.w.
        raise NotImplementedError("TODO(neuron): implement Neuron.__call__ in nn.py")

    def parameters(self):
        # TODO(neuron): return a list of every Value training should adjust: the weights, then the bias.
        raise NotImplementedError("TODO(neuron): implement Neuron.parameters in nn.py")


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
