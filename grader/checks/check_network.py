"""Checkpoint network: the given Layer and MLP with the student's own Neuron, on the grader's
stand-in Value (a mistake in the engine costs nothing here). It is worth no points (no step pays
for code the kit gave); when it passes, train_step is graded on the student's own network."""

import random

import pytest

from grader.checking import diagnosis_network, graphs
from grader.checking.kit import Kit
from grader.sandbox import tasks

STEP = "network"


def _params(seed: int, count: int) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(-1, 1), 4) for _ in range(count)]


@pytest.mark.check(step=STEP, weight=2, title="MLP(3, [4, 4, 1]) has 41 parameters")
def check_parameter_count(kit: Kit) -> None:
    with kit.built_on("neuron"):
        for nin, sizes in ((3, [4, 4, 1]), (2, [3, 2])):
            result = kit.probe(tasks.MLP, nin=nin, sizes=sizes, init_seed=5)
            want = graphs.mlp_size(nin, sizes)
            if result.get("count") != want or result.get("distinct") != want:
                raise kit.fail(f"MLP({nin}, {sizes}).parameters() has {result.get('count')} "
                               f"Values ({result.get('distinct')} different), expected {want}")
            growing = diagnosis_network.growing_parameters(f"MLP({nin}, {sizes})", want,
                                                           result.get("later_counts"))
            if growing:
                raise kit.fail(growing[0], diagnosis=growing[1])


# Advice: a Layer of the student's own that always returns a list, with an MLP that unwraps
# the last one, trains as well (and its network is then the one train_step is graded on).
@pytest.mark.check(step=STEP, weight=0, title="Layer(3, 1) gives one Value, Layer(3, 2) a list")
def check_layer_shapes(kit: Kit) -> None:
    with kit.built_on("neuron"):
        for nout, shape in ((1, "value"), (2, "list of 2")):
            result = kit.probe(tasks.LAYER, nin=3, nout=nout, init_seed=6, x=[0.5, -1.0, 2.0])
            if result.get("shape") != shape:
                raise kit.fail(f"Layer(3, {nout})(x) returned a {result.get('shape')}, "
                               f"expected a "
                               f"{'single Value' if nout == 1 else 'list of 2 Values'}",
                               diagnosis="a Layer of one neuron returns that neuron's Value "
                                         "itself (out[0] if len(out) == 1 else out), as the "
                                         "kit's Layer does: the network's output is then one "
                                         "Value, as the tutorial's loss needs.")


@pytest.mark.check(step=STEP, weight=2, title="MLP(3, [4, 4, 1]) forward value")
def check_forward(kit: Kit) -> None:
    with kit.built_on("neuron"):
        params = _params(41, 41)
        x = [2.0, 3.0, -1.0]
        result = kit.probe(tasks.MLP, nin=3, sizes=[4, 4, 1], init_seed=41, params=params, xs=[x])
        if result.get("shape") not in (None, "value"):
            raise kit.fail(f"MLP(3, [4, 4, 1])(x) returned a {result.get('shape')}, expected one "
                           f"Value (the tutorial's loss subtracts the target from it)",
                           diagnosis="the network's last layer has one neuron, and a Layer of one "
                                     "neuron returns that neuron's Value itself (out[0] if "
                                     "len(out) == 1 else out), not a list of one.")
        spec, _, outputs = graphs.mlp_graph(3, [4, 4, 1], params, [x])
        out = (result.get("out") or [None])[0]
        kit.expect_close(out, graphs.evaluate(spec)[outputs[0]], "MLP(x).data",
                         f"MLP(3, [4, 4, 1]) with parameters set to fixed values, x = {x}")


SHAPES = ((3, [4, 4, 1]), (2, [3, 2]), (4, [2, 3, 1]))


@pytest.mark.check(step=STEP, weight=2, title="every parameter's gradient after backward()",
                   seeds=(51, 52))
def check_gradients(kit: Kit, seed: int) -> None:
    with kit.built_on("neuron"):
        nin, sizes = SHAPES[seed % len(SHAPES)]
        count = graphs.mlp_size(nin, sizes)
        params = _params(seed, count)
        rng = random.Random(seed + 1000)
        xs = [[graphs.magnitude(rng, 0.2, 2.0) for _ in range(nin)] for _ in range(2)]
        result = kit.probe(tasks.MLP, nin=nin, sizes=sizes, init_seed=seed, params=params, xs=xs,
                           backward=True)
        spec, indices, _ = graphs.mlp_graph(nin, sizes, params, xs)
        want = graphs.finite_difference_grads(spec, only=indices)
        grads = result.get("param_grad") or []
        if len(grads) != count:
            raise kit.fail(f"expected {count} parameter gradients, got {len(grads)}")
        context = (f"MLP({nin}, {sizes}) with fixed parameters, outputs for x = {xs} summed "
                   f"into one Value, then .backward()")
        wrong = [i for i in indices if not graphs.close(kit.number(grads[i], "a gradient"), want[i])]
        if wrong:
            i = wrong[0]
            raise kit.fail(f"{context}\ngot parameters()[{i}].grad = {grads[i]:.6g}, expected "
                           f"{want[i]:.6g}; {len(wrong)} of {count} parameter gradients are wrong")
