"""Step neuron: nn.Neuron's parameters, initial weights, forward value and gradients.

The neuron runs on the grader's stand-in Value (grader/sandbox/worker/standin.py), which computes gradients
by finite differences: a mistake in an operation or in backward() costs nothing here."""

from typing import Any
import random

import pytest

from grader.checking import diagnosis_errors, diagnosis_network, graphs
from grader.checking.kit import Kit
from grader.sandbox import tasks
from grader.checking.session import as_number, describe_error
from grader.sandbox.tasks import ErrorAnswer

STEP = "neuron"


def neuron_graph(params: list[float], x: list[float]) -> graphs.Spec:
    spec, _, _ = graphs.mlp_graph(len(x), [1], params, [x])
    return spec[:-1]   # drop the final sum over outputs: the neuron's output is the last node


@pytest.mark.check(step=STEP, weight=4, title="Neuron(3).parameters(): 3 weights and a bias")
def check_parameters(kit: Kit) -> None:
    for n in (3, 1, 6):
        result = kit.probe(tasks.NEURON, n=n, init_seed=7)
        error: ErrorAnswer | None = result.get("parameters_error")   # as the protocol checked
        if error is not None:
            # The neuron's own weights and bias were found; parameters() itself fails.
            message = describe_error(error)
            why = diagnosis_errors.from_error(STEP, error) if error.get("stack") else None
            if "holds a list" in message:
                why = ("parameters() returns a list inside a list: the weights and the bias "
                       "must all be items of one flat list.")
            raise kit.fail(f"Neuron({n}).parameters(): {message}", diagnosis=why)
        count = int(kit.number(result.get("count"), "len(parameters())"))
        distinct = int(kit.number(result.get("distinct"), "the number of different Values"))
        initial = [as_number(v) for v in result.get("initial") or []]
        listed = result.get("listed")
        why = diagnosis_network.neuron_parameters(n, count, distinct, initial,
                                          listed if isinstance(listed, list) else None)
        if count != n + 1:
            raise kit.fail(f"Neuron({n}).parameters() has {count} Values, expected {n + 1} "
                           f"({n} weights and 1 bias)", diagnosis=why)
        if distinct != n + 1:
            raise kit.fail(f"Neuron({n}).parameters() holds {distinct} different Values, "
                           f"expected {n + 1}: some parameters are the same object",
                           diagnosis=why)
        if isinstance(listed, list) and sorted(listed) != list(range(n + 1)):
            raise kit.fail(f"Neuron({n}).parameters() does not hold the neuron's own weights "
                           f"and bias", diagnosis=why)
        growing = diagnosis_network.growing_parameters(f"Neuron({n})", count,
                                                       result.get("later_counts"))
        if growing:
            raise kit.fail(growing[0], diagnosis=growing[1])


@pytest.mark.check(step=STEP, weight=3, title="weights drawn uniformly from [-1, 1], bias 0")
def check_initial_values(kit: Kit) -> None:
    samples = kit.probe(tasks.NEURON_SAMPLE, n=5, count=200, init_seed=11).get("samples")
    if not isinstance(samples, list) or not all(isinstance(s, list) and len(s) == 6
                                                 for s in samples):
        raise kit.fail("Neuron(5).parameters() should hold 6 Values (5 weights, then the bias)")
    weights = [kit.number(w, "a weight") for s in samples for w in s[:5]]
    biases = [kit.number(s[5], "the bias") for s in samples]
    n = len(weights)
    outside = [w for w in weights if not -1.0 <= w <= 1.0]
    if outside:
        raise kit.fail(f"{len(outside)} of {n} initial weights lie outside [-1, 1] "
                       f"(for example {outside[0]:.4g})", diagnosis=diagnosis_network.neuron_weights(weights))
    if any(b != 0.0 for b in biases):
        raise kit.fail(f"the bias should start at 0, got {next(b for b in biases if b != 0):.4g}")
    if len(set(weights)) < n * 0.99:
        raise kit.fail(f"only {len(set(weights))} different values among {n} initial weights: "
                       f"each weight should get its own random draw",
                       diagnosis=diagnosis_network.neuron_weights(weights, per=5))
    _uniform(kit, weights)


def _uniform(kit: Kit, weights: list[float]) -> None:
    """Whether draws look like U(-1, 1). For 1000 draws, a mean within 0.1 and the middle half
    within 0.4..0.6 of them are both more than 5 standard deviations wide, yet 0..1 or clumped
    draws fail them."""
    n = len(weights)
    mean = sum(weights) / n
    middle = sum(1 for w in weights if -0.5 <= w <= 0.5) / n
    if min(weights) > -0.9 or max(weights) < 0.9 or abs(mean) > 0.1 or not 0.4 <= middle <= 0.6:
        raise kit.fail(f"initial weights do not look uniform on [-1, 1]: over {n} draws the "
                       f"smallest is {min(weights):.3g}, the largest {max(weights):.3g}, the mean "
                       f"{mean:.3g}, and {middle:.0%} lie in [-0.5, 0.5] (expected about 50%)",
                       diagnosis=diagnosis_network.neuron_weights(weights))


def _forward(kit: Kit, n: int, seed: int, x_values: bool, backward: bool = False,
             zero: bool = False) -> Any:
    rng = random.Random(seed)
    params = [round(rng.uniform(-1, 1), 4) for _ in range(n + 1)]
    x = [graphs.magnitude(rng, 0.3, 1.5) for _ in range(n)]
    if zero:
        x[0] = 0.0
    result = kit.probe(tasks.NEURON, n=n, init_seed=seed, params=params, x=x, x_values=x_values,
                       backward=backward)
    spec = neuron_graph(params, x)
    context = (f"Neuron({n}) with weights {params[:-1]} and bias {params[-1]}, "
               f"called on x = {x}" + (" (as Values)" if x_values else ""))
    out = kit.number(result.get("out"), "the output")
    kit.expect_close(out, graphs.evaluate(spec)[-1], "the output", context,
                     diagnosis=diagnosis_network.neuron_forward(params, x, out))
    return result, spec, params, x, context


@pytest.mark.check(step=STEP, weight=3, title="forward: tanh(w . x + b) on a list of numbers",
                   seeds=(21, 22, 23))
def check_forward(kit: Kit, seed: int) -> None:
    _forward(kit, 2 + seed % 4, seed, x_values=False, zero=seed == 23)


@pytest.mark.check(step=STEP, weight=3, title="gradients of the weights, the bias and the inputs",
                   seeds=(31, 32))
def check_gradients(kit: Kit, seed: int) -> None:
    n = 2 + seed % 4
    result, spec, params, x, context = _forward(kit, n, seed, x_values=True, backward=True)
    want = graphs.finite_difference_grads(spec)
    param_grad = result.get("param_grad") or []
    x_grad = result.get("x_grad") or []
    if len(param_grad) != n + 1 or len(x_grad) != n:
        raise kit.fail("the neuron's gradients could not be read")
    if all(g in (0, 0.0) for g in param_grad):
        raise kit.fail(f"{context}; then out.backward()\nevery parameter's gradient is 0",
                       diagnosis="the neuron's output is not made from its weights and bias as "
                                 "Values (computing with .data gives a plain number that "
                                 "backward() cannot trace back to them).")
    # Parameter leaves come first in the graph, then the inputs.
    names = [f"w{i + 1}" for i in range(n)] + ["b"] + [f"x{i + 1}" for i in range(n)]
    for i, got in enumerate(param_grad + x_grad):
        kit.expect_close(got, want[i], f"{names[i]}.grad", context + "; then out.backward()")
