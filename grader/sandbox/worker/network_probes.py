"""Probes of the student's network and training code, in whichever world this worker holds (the
student's own engine, or the stand-in): a Neuron's weights and bias found by what it keeps, Layer
and MLP shapes, train_step's losses and updates, softmax and the classifier.
"""

from __future__ import annotations

import builtins as _builtins
import random
from typing import Any, Callable

from context import Ctx
from errors import Reported, error_of, reported, type_name
from reading import data_of, fields_of, grad_of, is_value, key, num
from tasks import (CLASSIFIER, LAYER, MLP, NEURON, NEURON_SAMPLE, SOFTMAX, TRAIN,
                   Answer, ClassifierAnswer, LayerAnswer, MLPAnswer, NeuronAnswer, Num,
                   SampleAnswer, SoftmaxAnswer, Trace, TrainAnswer)
from world import module, value_class

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]

seed_random = random.seed


def check_params(ctx: Ctx, params: Any, what: str) -> list[Any]:
    if params is None or not hasattr(params, "__iter__"):
        raise reported("api", f"{what} returned "
                              f"{'None' if params is None else type_name(params)}, "
                              f"not a list of Values", type="TypeError")
    params = ctx["call"](list, params)
    for p in params:
        if not is_value(p):
            raise reported("api", f"{what} holds a {type_name(p)}, not a Value",
                           type="TypeError")
    return params                                            # type: ignore[no-any-return]


def set_params(ctx: Ctx, params: list[Any], values: list[float] | None, what: str) -> None:
    if values is None:
        return
    if len(params) != len(values):
        raise reported("api", f"{what} has {len(params)} parameters, expected {len(values)}",
                       type="ValueError")
    for p, v in zip(params, values):
        ctx["call"](setattr, p, "data", v)


def call_counts(ctx: Ctx, owner: Any) -> list[int]:
    """How many Values parameters() lists on three more calls: a list kept and extended on
    every call grows (one built once and returned each time is fine)."""
    return [len(check_params(ctx, ctx["call"](lambda: owner.parameters()), "parameters()"))
            for _ in range(3)]


def bias_first(ctx: Ctx) -> bool:
    """Whether this world's Neuron.parameters() lists the bias before the weights, found by
    behaviour: with every parameter 0 but the first, the output no longer depends on x. The
    grader's values are in the tutorial's order (weights, then bias); a bias-first network gets
    them in its own order, so a different listing costs nothing."""
    if "bias_first" not in ctx:
        ctx["bias_first"] = probe_bias_first(ctx)
    return ctx["bias_first"] is True


def probe_bias_first(ctx: Ctx) -> bool:
    call = ctx["call"]
    state = random.getstate()
    try:
        neuron = call(module(ctx, "nn").Neuron, 2)
        ps = check_params(ctx, call(lambda: neuron.parameters()), "Neuron.parameters()")
        if len(ps) != 3:
            return False
        for k, p in enumerate(ps):
            call(setattr, p, "data", 0.5 if k == 0 else 0.0)
        first = data_of(ctx, call(neuron, [0.3, -0.7]), "Neuron(x)")
        second = data_of(ctx, call(neuron, [0.9, 0.4]), "Neuron(x)")
        return first is not None and first != 0 and first == second
    except Reported:
        return False
    finally:
        random.setstate(state)


def tutorial_order(ctx: Ctx, ps: list[Any], blocks: list[int]) -> list[Any]:
    """ps in the tutorial's order (each neuron's weights, then its bias), given the sizes of
    the neurons' blocks, as parameters() lists them neuron by neuron."""
    if sum(blocks) != len(ps) or not bias_first(ctx):
        return ps
    ordered: list[Any] = []
    start = 0
    for size in blocks:
        block = ps[start:start + size]
        ordered.extend(block[1:] + block[:1])
        start += size
    return ordered


def mlp_blocks(nin: int, sizes: list[int]) -> list[int]:
    fans = [nin, *sizes]
    return [fans[i] + 1 for i in range(len(sizes)) for _ in range(sizes[i])]


def neuron_parts(neuron: Any, n: int) -> list[Any] | None:
    """A neuron's weights then its bias, found by what its attributes hold (one list of n
    Values, one Value: named b or bias when it has several), whatever parameters() says: the
    forward pass is graded apart from parameters()."""
    weights: list[Any] | None = None
    singles: list[tuple[str, Any]] = []
    for name, value in fields_of(neuron).items():
        if type(value) in (list, tuple) and len(value) == n and all(is_value(x) for x in value):
            weights = weights if weights is not None else list(value)
        elif is_value(value):
            singles.append((name, value))
    if len(singles) == 1:
        bias = singles[0][1]
    else:
        bias = next((v for name, v in singles if name in ("b", "bias", "_b", "_bias")), None)
    return None if weights is None or bias is None else [*weights, bias]


def task_neuron(ctx: Ctx, n: int, init_seed: int, params: list[float] | None = None,
                x: list[float] | None = None, x_values: bool = False,
                backward: bool = False) -> NeuronAnswer:
    call = ctx["call"]
    nn = module(ctx, "nn")
    seed_random(init_seed)
    neuron = call(nn.Neuron, n)
    parts = neuron_parts(neuron, n)
    report: NeuronAnswer = {"parts": parts is not None}
    try:
        ps: list[Any] | None = check_params(ctx, call(lambda: neuron.parameters()),
                                            "Neuron.parameters()")
    except Reported as failure:
        if parts is None:
            raise
        ps, report["parameters_error"] = None, error_of(failure)
    if ps is not None:
        ps = tutorial_order(ctx, ps, [n + 1])
        report["count"], report["distinct"] = len(ps), len({key(p) for p in ps})
        report["later_counts"] = call_counts(ctx, neuron)
        if parts is not None:
            where = {key(p): k for k, p in enumerate(parts)}
            report["listed"] = [where.get(key(p), -1) for p in ps]
    chosen: list[Any] = parts if parts is not None else ps          # type: ignore[assignment]
    report["initial"] = [num(p.data) for p in chosen]
    if x is None:
        return report
    set_params(ctx, chosen, params, "Neuron.parameters()")
    V = value_class(ctx)
    inputs = [call(V, xi) for xi in x] if x_values else list(x)
    out = call(neuron, inputs)
    report["out"] = data_of(ctx, out, "Neuron(x)")
    if backward:
        call(lambda: out.backward())
        report["param_grad"] = [grad_of(p) for p in chosen]
        report["x_grad"] = [grad_of(xi) for xi in inputs] if x_values else None
    return report


def task_neuron_sample(ctx: Ctx, n: int, count: int, init_seed: int) -> SampleAnswer:
    call = ctx["call"]
    nn = module(ctx, "nn")
    seed_random(init_seed)
    samples: list[list[float | None]] = []
    for _ in range(count):
        neuron = call(nn.Neuron, n)
        chosen = neuron_parts(neuron, n) or tutorial_order(
            ctx, check_params(ctx, call(lambda: neuron.parameters()), "Neuron.parameters()"),
            [n + 1])
        samples.append([num(p.data) for p in chosen])
    return {"samples": samples}


def build_mlp(ctx: Ctx, nin: int, sizes: list[int], init_seed: int,
              params: list[float] | None) -> tuple[Any, list[Any]]:
    seed_random(init_seed)
    nn = module(ctx, "nn")
    model = ctx["call"](nn.MLP, nin, sizes)
    ps = check_params(ctx, ctx["call"](lambda: model.parameters()), "MLP.parameters()")
    ps = tutorial_order(ctx, ps, mlp_blocks(nin, sizes))
    set_params(ctx, ps, params, "MLP.parameters()")
    return model, ps


def shape_text(out: Any) -> str:
    if is_value(out):
        return "value"
    if isinstance(out, (list, tuple)):
        return f"{type_name(out)} of {len(out)}"
    return type_name(out)


def task_layer(ctx: Ctx, nin: int, nout: int, init_seed: int, x: list[float]) -> LayerAnswer:
    call = ctx["call"]
    nn = module(ctx, "nn")
    seed_random(init_seed)
    layer = call(nn.Layer, nin, nout)
    ps = check_params(ctx, call(lambda: layer.parameters()), "Layer.parameters()")
    out = call(layer, list(x))
    shape = shape_text(out)
    outs = [out] if shape == "value" else (list(out) if isinstance(out, (list, tuple)) else [])
    return {"count": len(ps), "shape": shape, "out": [data_of(ctx, o, "Layer(x)") for o in outs]}


def task_mlp(ctx: Ctx, nin: int, sizes: list[int], init_seed: int,
             params: list[float] | None = None, xs: list[list[float]] | None = None,
             backward: bool = False) -> MLPAnswer:
    call = ctx["call"]
    model, ps = build_mlp(ctx, nin, sizes, init_seed, params)
    report: MLPAnswer = {"count": len(ps), "distinct": len({key(p) for p in ps}),
                              "later_counts": call_counts(ctx, model)}
    if xs is None:
        return report
    outs: list[Any] = []
    for x in xs:
        out = call(model, list(x))
        report["shape"] = shape_text(out)
        outs.extend(out if isinstance(out, (list, tuple)) else [out])
    report["out"] = [data_of(ctx, o, "MLP(x)") for o in outs]
    if backward:
        total = outs[0]
        for o in outs[1:]:
            total = call(lambda a, b: a + b, total, o)
        call(lambda: total.backward())
        report["param_grad"] = [grad_of(p) for p in ps]
    return report


def task_train(ctx: Ctx, nin: int, sizes: list[int], params: list[float],
               xs: list[list[float]], ys: list[float], lr: float, steps: int,
               record_params: bool = False) -> TrainAnswer:
    """train_step, `steps` times, on the network of this world."""
    call = ctx["call"]
    train = module(ctx, "train")
    network, ps = build_mlp(ctx, nin, sizes, 0, params)
    first = call(network, list(xs[0]))
    if not is_value(first):
        raise reported("api", f"MLP({nin}, {sizes})(x) returned a {shape_text(first)}, not a "
                              f"Value: the loss subtracts each target from the network's "
                              f"output", type="TypeError")
    losses: list[float | None] = []
    kinds: list[str] = []
    trail: list[list[float | None]] = []
    grads: list[list[float | None]] = []
    for _ in range(steps):
        loss = call(train.train_step, network, [list(x) for x in xs], list(ys), lr)
        value = num(loss)
        if value is not None:
            kinds.append("number")
        elif is_value(loss):
            kinds.append("Value")
            value = data_of(ctx, loss, "train_step")
        else:
            kinds.append(type_name(loss))
        losses.append(value)
        if record_params:
            trail.append([num(p.data) for p in ps])
            grads.append([grad_of(p) for p in ps])
    predictions: list[Num] = [data_of(ctx, call(network, list(x)), "model(x)") for x in xs]
    return {"losses": losses, "kinds": kinds, "params": trail, "grads": grads,
            "final": [num(p.data) for p in ps], "predictions": predictions}


def task_softmax(ctx: Ctx, logits: list[float], weights: list[float] | None = None,
                 target: int | None = None) -> SoftmaxAnswer:
    """softmax, then backward() from sum(weight * probability); or cross_entropy, then
    backward(): the scores' gradients."""
    call = ctx["call"]
    ext = module(ctx, "extensions")
    V = value_class(ctx)
    xs = [call(V, x) for x in logits]
    if target is None:
        outs = call(list, call(ext.softmax, xs))
        probs: list[Num] = [data_of(ctx, o, "softmax") for o in outs]
        if len(outs) != len(xs):
            raise reported("api", f"softmax of {len(xs)} scores returned {len(outs)} values",
                           type="ValueError")
        total = call(lambda: sum(o * w for o, w in zip(outs, weights or [])))
        call(lambda: total.backward())
        return {"out": probs, "grad": [grad_of(x) for x in xs]}
    loss = call(ext.cross_entropy, xs, target)
    value = data_of(ctx, loss, "cross_entropy")
    call(lambda: loss.backward())
    return {"out": [value], "grad": [grad_of(x) for x in xs]}


TRACED = 120          # model calls and losses a traced training records


def traced(ctx: Ctx, ext: Any, run: Callable[[], Any]) -> Trace:
    """Run `run` (a training) watching what it does: the input of each call of the network,
    the target each cross_entropy is given, and whether the parameters' gradients were
    already non-zero each time backward() began. Everything watched is put back after."""
    nn, V = module(ctx, "nn"), value_class(ctx)
    calls: list[list[Num]] = []
    targets: list[int | None] = []
    dirty: list[bool] = []
    models: list[Any] = []
    mlp_call, own_loss, own_backward = nn.MLP.__call__, vars(ext).get("cross_entropy"), \
        V.backward

    def watch_call(self: Any, x: Any, *rest: Any, **named: Any) -> Any:
        if not models:
            models.append(self)
        if len(calls) < TRACED:
            calls.append([num(v.data) if is_value(v) else num(v) for v in list(x)[:16]])
        return mlp_call(self, x, *rest, **named)

    def watch_loss(logits: Any, target: Any, *rest: Any, **named: Any) -> Any:
        if len(targets) < TRACED:
            targets.append(target if type(target) is int else None)
        return own_loss(logits, target, *rest, **named)

    def watch_backward(self: Any, *rest: Any, **named: Any) -> Any:
        if models and len(dirty) < TRACED:
            params = list(models[0].parameters())
            dirty.append(any(grad_of(p) not in (0, 0.0, None) for p in params))
        return own_backward(self, *rest, **named)

    try:
        nn.MLP.__call__ = watch_call
        V.backward = watch_backward
        if callable(own_loss):
            vars(ext)["cross_entropy"] = watch_loss
        run()
    finally:
        nn.MLP.__call__, V.backward = mlp_call, own_backward
        if callable(own_loss):
            vars(ext)["cross_entropy"] = own_loss
    return {"inputs": calls, "targets": targets, "dirty": dirty}


def task_classifier(ctx: Ctx, train_x: list[list[float]], train_y: list[int],
                    test_x: list[list[float]], seed: int,
                    options: dict[str, float] | None = None, trace: bool = False
                    ) -> ClassifierAnswer:
    """train_classifier with the grader's options (a short training), or, when it does not
    take them, with its own defaults ("defaults": true); `trace`: one watched training, for
    the diagnosis (see traced)."""
    call = ctx["call"]
    ext = module(ctx, "extensions")
    xs, ys = [list(x) for x in train_x], list(train_y)
    if trace:
        return {"trace": traced(ctx, ext, lambda: call(ext.train_classifier, xs, ys, seed=seed,
                                                       **(options or {})))}
    defaults = False
    try:
        model = call(ext.train_classifier, xs, ys, seed=seed, **(options or {}))
    except Reported as failure:
        error = error_of(failure)
        if not options or error.get("type") != "TypeError" or \
                "unexpected keyword argument" not in str(error.get("message")):
            raise
        model = call(ext.train_classifier, xs, ys, seed=seed)
        defaults = True
    _an_mlp(ctx, model)
    return {"predictions": [num(call(ext.predict, model, list(x))) for x in test_x],
            "defaults": defaults}


def _an_mlp(ctx: Ctx, model: Any) -> None:
    """What train_classifier returns is the network it trained: an MLP of this world's nn (the
    student's, or the grader's), called as an MLP is. Anything else that answers predict (a
    lookup of the training flowers) is no trained network."""
    mlp = vars(module(ctx, "nn")).get("MLP")
    try:
        # A subclass that calls otherwise than an MLP is no MLP here.
        trained = isinstance(mlp, type) and isinstance(model, mlp) and \
            type(model).__call__ is mlp.__call__
    except AttributeError:
        trained = False
    if not trained:
        raise reported("api", f"train_classifier returned a {type_name(model)}, not the MLP it "
                              f"trained: build an MLP, train it, and return it")


TASKS: dict[str, Callable[..., Answer]] = {
    NEURON: task_neuron, NEURON_SAMPLE: task_neuron_sample, LAYER: task_layer, MLP: task_mlp,
    TRAIN: task_train, SOFTMAX: task_softmax, CLASSIFIER: task_classifier}
