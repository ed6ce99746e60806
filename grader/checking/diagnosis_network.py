"""Name a mistake in the network steps from evidence: the neuron's parameters, initial weights
and forward value, and what train_step did to the parameters, each compared with the known wrong
versions it could be (pure functions, like grader.checking.diagnosis for the engine)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from .diagnosis import fits


# ------------------------------------------------------------------------ the neuron
def neuron_forward(params: Sequence[float], x: Sequence[float], got: float) -> str | None:
    """Name the neuron's mistake when its output matches a known wrong formula."""
    w, b = params[:-1], params[-1]
    dot = math.fsum(wi * xi for wi, xi in zip(w, x))
    models = [
        (math.tanh(dot), "the neuron leaves out the bias: add self.b to the weighted sum "
                         "before tanh."),
        (dot + b, "the neuron returns w . x + b without tanh."),
        (dot, "the neuron returns w . x: add the bias, then apply tanh."),
        (math.tanh(dot) + b, "the neuron adds the bias after tanh: tanh must be applied to "
                             "w . x + b, bias included."),
        (math.fsum(math.tanh(wi * xi) for wi, xi in zip(w, x)) + b,
         "the neuron applies tanh to every product w_i * x_i instead of once, to the whole "
         "sum w . x + b."),
        (math.tanh(math.fsum(wi * xi for wi, xi in zip(w, reversed(x))) + b),
         "the neuron pairs the weights with the inputs in reverse order."),
        (math.tanh(math.fsum(wi * xi for wi, xi in zip(w, x)) * b),
         "the neuron multiplies by the bias where it should add it."),
    ]
    for value, sentence in models:
        if fits(got, value):
            return sentence
    return None


def neuron_parameters(n: int, count: int, distinct: int,
                      initial: Sequence[float | None] = (),
                      listed: Sequence[int] | None = None) -> str | None:
    """`initial`: the values parameters() holds when the neuron is new (weights drawn at
    random, the bias 0): which of the two is missing shows in them. `listed`: which of the
    neuron's own weights (0..n-1) and bias (n) each parameter is, when they were found."""
    if listed is not None and count == n and n not in listed and \
            sorted(listed) == list(range(n)):
        return ("parameters() returns the weights but not the bias: training would never change "
                "it. It must list every Value training should adjust.")
    if listed is not None and count == n + 1 and sorted(listed) == list(range(n + 1)):
        return None
    if count == n and any(v == 0.0 for v in initial):
        return (f"Neuron({n}) has {n - 1} weights for its {n} inputs (the 0 among its "
                f"parameters is the bias): make one weight per input.")
    if count == n:
        return ("parameters() returns the weights but not the bias: training would never change "
                "it. It must list every Value training should adjust.")
    if count == n + 1 and distinct < count:
        return ("the weights are one shared Value: a list like [Value(...)] * n repeats the same "
                "object n times. Make a new Value for each weight.")
    if count > n + 1:
        return (f"parameters() lists {count} Values for {n} inputs: each weight once and the "
                f"bias once.")
    return None


def growing_parameters(owner: str, count: int, later: Any) -> tuple[str, str] | None:
    """What to say when `owner`.parameters() lists more on each later call (a list kept and
    extended), from the counts of three more calls; None when they stay at `count`."""
    if not isinstance(later, list) or all(k == count for k in later):
        return None
    return (f"{owner}.parameters() listed {count} Values, then "
            f"{', '.join(str(k) for k in later)} on the next calls",
            "parameters() adds to the same list on every call, so it grows (and train_step "
            "would update each parameter once more per call): build a new list each time (or "
            "build it once and return it as it is).")


def neuron_weights(weights: Sequence[float], per: int = 0) -> str | None:
    """What initial weights say (`per`: how many each neuron has, in order)."""
    if per > 1 and len(set(weights)) > 1 and all(
            len(set(weights[k:k + per])) == 1 for k in range(0, len(weights), per)):
        return ("each neuron's weights are all one number, a different one in each neuron: "
                "one shared Value (a list like [Value(...)] * n repeats the same object n "
                "times) or one draw reused. Make a new Value, with a draw of its own, for "
                "each weight.")
    if weights and len(set(weights)) == 1:
        return (f"every weight starts at {weights[0]:g}: the neurons of a layer would then "
                f"compute the same thing and learn the same way. Draw each weight with "
                f"random.uniform(-1, 1).")
    if weights and len(set(weights)) < len(weights) * 0.5:
        return ("many weights start at the same number: the random draw happens once and is "
                "reused. Call random.uniform(-1, 1) once for each weight.")
    if weights and min(weights) >= 0 and max(weights) <= 1:
        return ("the weights are all between 0 and 1: random.random() draws from [0, 1). Draw "
                "each one from [-1, 1], as random.uniform(-1, 1) does.")
    if weights and min(weights) >= -0.5 and max(weights) <= 0.5:
        return "the weights all lie in [-0.5, 0.5]: draw each one from the whole of [-1, 1]."
    return ("draw each weight with random.uniform(-1, 1): every weight its own draw, spread over "
            "the whole range from -1 to 1.")


# ------------------------------------------------------------------------ training
@dataclass
class TrainingStep:
    """What one or more calls of train_step did, from the same start as the expected run."""

    moved: list[float]                      # how each parameter moved in the first step
    grads: list[float]                      # the loss's gradient at the start (finite differences)
    lr: float
    loss: float | None = None               # what train_step returned
    loss_kind: str = "Value"
    expected_loss: float = 0.0
    mean_loss: float = 0.0                  # the loss averaged instead of summed
    params: list[float] = field(default_factory=list)
    second_moved: list[float] | None = None
    second_grads: list[float] | None = None   # the gradient at the second step's start
    grads_after: list[float | None] | None = None   # every p.grad after the first step
    unsquared: tuple[float, ...] = ()       # the errors summed without squaring them
    last_example_grads: list[float] | None = None   # the gradient of the last example's loss


def _all_fit(got: Sequence[float], want: Sequence[float]) -> bool:
    return len(got) == len(want) and all(abs(g - w) <= 1e-8 + 1e-4 * abs(w)
                                         for g, w in zip(got, want))


def training(step: TrainingStep) -> str | None:
    """Name train_step's mistake when what it did fits one known wrong version."""
    for rule in (_loss_mistake, _update_mistake, _own_rate, _never_cleared):
        said = rule(step)
        if said is not None:
            return said
    return None


def _loss_mistake(step: TrainingStep) -> str | None:
    """What train_step returned, or the loss it computed, is not the tutorial's."""
    if step.loss_kind != "Value":
        return (f"train_step returns a {step.loss_kind}, not the loss Value: the given train() "
                f"reads loss.data from it, so `python exercises/train.py` would stop there. "
                f"Return the loss Value itself.")
    if step.loss is None or fits(step.loss, step.expected_loss):
        return None
    if fits(step.loss, step.mean_loss):
        return ("train_step's loss is the mean of the squared errors; the tutorial sums them "
                "(though it calls the sum the mean squared error), and its learning rate is "
                "tuned for the sum: with the mean, each update is "
                f"{step.expected_loss / step.mean_loss:.0f} times smaller. Drop the division.")
    if any(fits(step.loss, u) for u in step.unsquared):
        return ("train_step's loss adds up the errors (prediction - target) without squaring "
                "them: square each error, so that being too high and too low both cost, and "
                "the loss is 0 only when every prediction is right.")
    return None


def _update_mistake(step: TrainingStep) -> str | None:
    """The parameters moved as one known wrong update moves them."""
    lr, g = step.lr, step.grads
    cleared = step.grads_after is not None and all(x in (0, 0.0) for x in step.grads_after)
    models: list[tuple[list[float], str]] = [
        ([0.0] * len(g), "train_step clears the gradients between backward() and the update: "
                         "by the time each parameter is moved, its gradient is already 0."
         if cleared else "train_step never changes the parameters: after backward(), move "
                         "each p.data against its gradient."),
        ([lr * x for x in g], "train_step moves the parameters uphill: the gradient points "
                              "where the loss grows, so subtract learning_rate * p.grad."),
        ([-x for x in g], "train_step moves each parameter by its whole gradient: scale the "
                          "step by the learning rate."),
        ([-lr * p for p in step.params], "train_step multiplies the learning rate by p.data "
                                         "where p.grad belongs."),
        ([-lr * 2 * x for x in g], "train_step counts each gradient twice: backward() was "
                                   "called twice, or the update applied twice."),
    ]
    if step.last_example_grads is not None:
        models.append(([-lr * x for x in step.last_example_grads],
                       "train_step moves the parameters by the gradient of the last example "
                       "alone: the gradients are cleared inside the loop over the examples, so "
                       "each backward() wipes out the ones before. Clear them once, before the "
                       "examples (or sum the loss over all of them, then call backward() once)."))
    return next((sentence for predicted, sentence in models
                 if _all_fit(step.moved, predicted)), None)


def _own_rate(step: TrainingStep) -> str | None:
    """Against its gradient, but by a rate of its own: the same factor for every parameter."""
    lr, g = step.lr, step.grads
    ratios = [-m / x for m, x in zip(step.moved, g) if abs(x) > 1e-6]
    if len(ratios) >= 3 and min(ratios) > 0 and not fits(ratios[0], lr) and \
            _all_fit(step.moved, [-ratios[0] * x for x in g]):
        return (f"train_step moves each parameter by {ratios[0]:.4g} times its gradient, not "
                f"by the learning_rate it is given ({lr:g}): use its learning_rate argument.")
    return None


def _never_cleared(step: TrainingStep) -> str | None:
    """A right first step, and a second that piles the new gradient on the old."""
    lr, g = step.lr, step.grads
    if step.second_moved is None or step.second_grads is None or \
            not _all_fit(step.moved, [-lr * x for x in g]):
        return None
    piled = [-lr * (a + b) for a, b in zip(step.second_grads, g)]
    if _all_fit(step.second_moved, piled):
        return ("train_step never clears the gradients, so each step adds the new gradient "
                "to the old ones: set every p.grad back to 0 before (or right after) each "
                "update.")
    return None
