"""Extensions: softmax, cross-entropy, and a classifier for the Iris flowers: run `python extensions.py`."""

import math
import random

from engine import Value
from nn import MLP

# ## Step softmax (bonus)
def softmax(logits):
    """Probabilities from scores: e^x_i / sum_j e^x_j, as Values."""
    # TODO(softmax): return a list of Values that sum to 1. It must work for scores like
    #  [1000, 1001, 998] too (exp(1000) overflows).
    raise NotImplementedError("TODO(softmax): implement softmax in extensions.py")


def cross_entropy(logits, target):
    """-log(softmax(logits)[target]), computed without ever taking the log of 0."""
    # TODO(softmax): return a Value; logits is a list of Values, target the index of the class.
    raise NotImplementedError("TODO(softmax): implement cross_entropy in extensions.py")


# ## Step classifier (bonus)
def train_classifier(xs, ys, n_classes=3, seed=0, epochs=20, batch_size=15,
                     learning_rate=0.2, scale=3.0):
    """Train an MLP on (already standardized) examples; return the model."""
    # TODO(classifier): build an MLP whose last layer has n_classes neurons, and train it with
    #  the mean cross-entropy of (scale * outputs) over small batches. Seed `random` with
    #  `seed` first. It should take a few seconds and reach 90% on held-out flowers.
    raise NotImplementedError("TODO(classifier): implement train_classifier in extensions.py")


def predict(model, x):
    """The class whose output is largest."""
    scores = [o.data for o in model(x)]
    return max(range(len(scores)), key=scores.__getitem__)


def load_iris():
    """The 150 Iris flowers: four measurements in cm, and the species as 0, 1 or 2."""
    rows = [row.split(",") for row in IRIS.split()]
    xs = [[float(v) for v in row[:4]] for row in rows]
    ys = [int(row[4]) for row in rows]
    return xs, ys


def standardize(train, test):
    """Scale each feature to mean 0 and spread 1, using the training rows only."""
    columns = list(zip(*train))
    mean = [sum(c) / len(c) for c in columns]
    spread = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) for c, m in zip(columns, mean)]
    scale = lambda rows: [[(v - m) / s for v, m, s in zip(r, mean, spread)] for r in rows]  # noqa
    return scale(train), scale(test)


def main():
    xs, ys = load_iris()
    order = list(range(len(xs)))
    random.Random(0).shuffle(order)
    train, test = order[:105], order[105:]
    train_x, test_x = standardize([xs[i] for i in train], [xs[i] for i in test])
    try:
        model = train_classifier(train_x, [ys[i] for i in train], seed=0)
    except NotImplementedError as todo:
        print(f"Not ready yet: {todo}")
        raise SystemExit(1)
    right = sum(predict(model, x) == ys[i] for x, i in zip(test_x, test))
    print(f"test accuracy: {right}/{len(test)} = {right / len(test):.0%}")


# The 150 flowers of R. A. Fisher's Iris data (1936, public domain; the same rows as
# grader/data/iris.csv, see its README): sepal length, sepal width, petal length and petal width
# in cm, then the species (0 setosa, 1 versicolor, 2 virginica), one flower per comma group.
IRIS = """
5.1,3.5,1.4,0.2,0 4.9,3.0,1.4,0.2,0 4.7,3.2,1.3,0.2,0 4.6,3.1,1.5,0.2,0 5.0,3.6,1.4,0.2,0
5.4,3.9,1.7,0.4,0 4.6,3.4,1.4,0.3,0 5.0,3.4,1.5,0.2,0 4.4,2.9,1.4,0.2,0 4.9,3.1,1.5,0.1,0
5.4,3.7,1.5,0.2,0 4.8,3.4,1.6,0.2,0 4.8,3.0,1.4,0.1,0 4.3,3.0,1.1,0.1,0 5.8,4.0,1.2,0.2,0
5.7,4.4,1.5,0.4,0 5.4,3.9,1.3,0.4,0 5.1,3.5,1.4,0.3,0 5.7,3.8,1.7,0.3,0 5.1,3.8,1.5,0.3,0
5.4,3.4,1.7,0.2,0 5.1,3.7,1.5,0.4,0 4.6,3.6,1.0,0.2,0 5.1,3.3,1.7,0.5,0 4.8,3.4,1.9,0.2,0
5.0,3.0,1.6,0.2,0 5.0,3.4,1.6,0.4,0 5.2,3.5,1.5,0.2,0 5.2,3.4,1.4,0.2,0 4.7,3.2,1.6,0.2,0
4.8,3.1,1.6,0.2,0 5.4,3.4,1.5,0.4,0 5.2,4.1,1.5,0.1,0 5.5,4.2,1.4,0.2,0 4.9,3.1,1.5,0.2,0
5.0,3.2,1.2,0.2,0 5.5,3.5,1.3,0.2,0 4.9,3.6,1.4,0.1,0 4.4,3.0,1.3,0.2,0 5.1,3.4,1.5,0.2,0
5.0,3.5,1.3,0.3,0 4.5,2.3,1.3,0.3,0 4.4,3.2,1.3,0.2,0 5.0,3.5,1.6,0.6,0 5.1,3.8,1.9,0.4,0
4.8,3.0,1.4,0.3,0 5.1,3.8,1.6,0.2,0 4.6,3.2,1.4,0.2,0 5.3,3.7,1.5,0.2,0 5.0,3.3,1.4,0.2,0
7.0,3.2,4.7,1.4,1 6.4,3.2,4.5,1.5,1 6.9,3.1,4.9,1.5,1 5.5,2.3,4.0,1.3,1 6.5,2.8,4.6,1.5,1
5.7,2.8,4.5,1.3,1 6.3,3.3,4.7,1.6,1 4.9,2.4,3.3,1.0,1 6.6,2.9,4.6,1.3,1 5.2,2.7,3.9,1.4,1
5.0,2.0,3.5,1.0,1 5.9,3.0,4.2,1.5,1 6.0,2.2,4.0,1.0,1 6.1,2.9,4.7,1.4,1 5.6,2.9,3.6,1.3,1
6.7,3.1,4.4,1.4,1 5.6,3.0,4.5,1.5,1 5.8,2.7,4.1,1.0,1 6.2,2.2,4.5,1.5,1 5.6,2.5,3.9,1.1,1
5.9,3.2,4.8,1.8,1 6.1,2.8,4.0,1.3,1 6.3,2.5,4.9,1.5,1 6.1,2.8,4.7,1.2,1 6.4,2.9,4.3,1.3,1
6.6,3.0,4.4,1.4,1 6.8,2.8,4.8,1.4,1 6.7,3.0,5.0,1.7,1 6.0,2.9,4.5,1.5,1 5.7,2.6,3.5,1.0,1
5.5,2.4,3.8,1.1,1 5.5,2.4,3.7,1.0,1 5.8,2.7,3.9,1.2,1 6.0,2.7,5.1,1.6,1 5.4,3.0,4.5,1.5,1
6.0,3.4,4.5,1.6,1 6.7,3.1,4.7,1.5,1 6.3,2.3,4.4,1.3,1 5.6,3.0,4.1,1.3,1 5.5,2.5,4.0,1.3,1
5.5,2.6,4.4,1.2,1 6.1,3.0,4.6,1.4,1 5.8,2.6,4.0,1.2,1 5.0,2.3,3.3,1.0,1 5.6,2.7,4.2,1.3,1
5.7,3.0,4.2,1.2,1 5.7,2.9,4.2,1.3,1 6.2,2.9,4.3,1.3,1 5.1,2.5,3.0,1.1,1 5.7,2.8,4.1,1.3,1
6.3,3.3,6.0,2.5,2 5.8,2.7,5.1,1.9,2 7.1,3.0,5.9,2.1,2 6.3,2.9,5.6,1.8,2 6.5,3.0,5.8,2.2,2
7.6,3.0,6.6,2.1,2 4.9,2.5,4.5,1.7,2 7.3,2.9,6.3,1.8,2 6.7,2.5,5.8,1.8,2 7.2,3.6,6.1,2.5,2
6.5,3.2,5.1,2.0,2 6.4,2.7,5.3,1.9,2 6.8,3.0,5.5,2.1,2 5.7,2.5,5.0,2.0,2 5.8,2.8,5.1,2.4,2
6.4,3.2,5.3,2.3,2 6.5,3.0,5.5,1.8,2 7.7,3.8,6.7,2.2,2 7.7,2.6,6.9,2.3,2 6.0,2.2,5.0,1.5,2
6.9,3.2,5.7,2.3,2 5.6,2.8,4.9,2.0,2 7.7,2.8,6.7,2.0,2 6.3,2.7,4.9,1.8,2 6.7,3.3,5.7,2.1,2
7.2,3.2,6.0,1.8,2 6.2,2.8,4.8,1.8,2 6.1,3.0,4.9,1.8,2 6.4,2.8,5.6,2.1,2 7.2,3.0,5.8,1.6,2
7.4,2.8,6.1,1.9,2 7.9,3.8,6.4,2.0,2 6.4,2.8,5.6,2.2,2 6.3,2.8,5.1,1.5,2 6.1,2.6,5.6,1.4,2
7.7,3.0,6.1,2.3,2 6.3,3.4,5.6,2.4,2 6.4,3.1,5.5,1.8,2 6.0,3.0,4.8,1.8,2 6.9,3.1,5.4,2.1,2
6.7,3.1,5.6,2.4,2 6.9,3.1,5.1,2.3,2 5.8,2.7,5.1,1.9,2 6.8,3.2,5.9,2.3,2 6.7,3.3,5.7,2.5,2
6.7,3.0,5.2,2.3,2 6.3,2.5,5.0,1.9,2 6.5,3.0,5.2,2.0,2 6.2,3.4,5.4,2.3,2 5.9,3.0,5.1,1.8,2
"""


if __name__ == "__main__":
    main()
