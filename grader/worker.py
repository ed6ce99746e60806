"""Worker process: the only place student code runs; it answers probe requests with plain numbers.

Run by grader/sandbox.py as `python -I worker.py SUBMISSION_DIR MEMORY_MB`. It imports nothing from
the grader and knows no expected value: it builds what a request describes with the student's
classes and reports what came out (data, grads, error kinds). Verdicts are made by the caller.

Protocol: one JSON request per line on stdin; one JSON response per line on a private copy of the
original stdout. Before any student code runs, file descriptors 1 and 2 both point at stderr, so
whatever the student prints goes there and can never be read as a response.
"""

import itertools
import json
import os
import random
import sys
import traceback

# Taken before any student code runs, so a submission that patches builtins or json cannot change
# how this process reads requests or writes observations.
_FLOAT = float
_INT = int
_float_of_float = float.__float__
_float_of_int = int.__float__
_isinstance = isinstance
_type = type
_len = len
_id = id
_dumps = json.dumps
_loads = json.loads
_MAX_TEXT = 600

SUBMISSION = ""
MARKER = b"\n\x00micrograd-kit-end\x00\n"
MEMORY_MB = 0


class Reported(Exception):
    """A failure already described as an error dict."""

    def __init__(self, error):
        super().__init__(error.get("message", ""))
        self.error = error


def num(x):
    """A student's number as a plain float, or None when it is not a number at all."""
    if _type(x) is bool:
        return 1.0 if x else 0.0
    if _isinstance(x, _FLOAT):
        return _float_of_float(x)       # the stored double, whatever the subclass's __float__ says
    if _isinstance(x, _INT):
        try:
            return _float_of_int(x)
        except OverflowError:
            return _FLOAT("inf")
    return None


def type_name(x):
    try:
        return _type(x).__name__
    except BaseException:
        return "?"


def clip(text, limit=_MAX_TEXT):
    text = str(text)
    return text if _len(text) <= limit else text[:limit] + " ..."


def describe(exc):
    """An error dict for an exception raised by student code: its kind, message and location."""
    etype = type_name(exc)
    try:
        message = clip(str(exc))
    except BaseException:
        message = "(the exception's message could not be read)"
    kind = "exception"
    step = None
    if _isinstance(exc, NotImplementedError):
        kind = "not_implemented"
        text = message
        if "TODO(" in text:
            step = text.split("TODO(", 1)[1].split(")", 1)[0].strip()
    elif _isinstance(exc, RecursionError):
        kind = "recursion"
    elif _isinstance(exc, MemoryError):
        kind = "memory"
        message = f"used more than {MEMORY_MB} MB of memory" if MEMORY_MB else "ran out of memory"
    elif _isinstance(exc, SystemExit):
        kind = "exit"
        message = f"called sys.exit({clip(exc.code, 60)})"
    elif _isinstance(exc, KeyboardInterrupt):
        kind = "interrupt"
        message = "raised KeyboardInterrupt"
    elif _isinstance(exc, SyntaxError):
        kind = "syntax"
    where, line = None, None
    try:
        if _isinstance(exc, SyntaxError) and exc.filename:
            where = f"{os.path.basename(exc.filename)}:{exc.lineno}"
            line = clip((exc.text or "").strip(), 200)
            message = clip(exc.msg)
        else:
            for frame in reversed(traceback.extract_tb(exc.__traceback__)):
                if frame.filename and os.path.dirname(os.path.abspath(frame.filename)) == SUBMISSION:
                    where = f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
                    line = clip((frame.line or "").strip(), 200)
                    break
    except BaseException:
        pass
    return {"kind": kind, "type": etype, "message": message, "where": where, "line": line,
            "step": step}


# ---------------------------------------------------------------- loading the submission
MODULES = {}
CREATED = []          # every Value made since the last reset, in the order it was made
SERIAL = {}           # id(value) -> how many Values were made before it
COUNTER = itertools.count()


def load(names):
    for name in names:
        if name in MODULES:
            continue
        try:
            module = __import__(name)
        except BaseException as exc:  # sys.exit and KeyboardInterrupt at import are results too
            error = describe(exc)
            error["module"] = name
            raise Reported(error)
        MODULES[name] = module
        if name == "engine":
            record_creation(module)
    return {name: True for name in names}


def record_creation(engine):
    """Note every Value as it is made: reverse creation order is a valid order for calling _backward."""
    cls = getattr(engine, "Value", None)
    if not _isinstance(cls, type):
        raise Reported({"kind": "api", "type": "AttributeError", "where": "engine.py",
                        "message": "engine.py has no class named Value", "line": None,
                        "step": None})
    original = cls.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        SERIAL[_id(self)] = next(COUNTER)
        CREATED.append(self)

    cls.__init__ = recording_init
    if cls.__hash__ is object.__hash__:
        # The default hash follows memory addresses, which change from run to run, so a set of
        # Values (the usual _prev) would iterate in a different order each run, and an
        # order-dependent bug would give different numbers each time. A hash from the creation
        # count keeps identity semantics and makes every run the same.
        cls.__hash__ = lambda self: SERIAL.get(_id(self), _id(self) >> 4)


def module(name):
    load([name])
    return MODULES[name]


def value_class():
    return module("engine").Value


def call(fn, *args, **kwargs):
    """Run student code; any exception it raises becomes a Reported error."""
    try:
        return fn(*args, **kwargs)
    except Reported:
        raise
    except BaseException as exc:
        raise Reported(describe(exc))


def data_of(v, what):
    """The .data of something the student returned, as a float; a clear error when it isn't one."""
    if not hasattr(v, "data"):
        raise Reported({"kind": "api", "type": "TypeError", "where": None, "line": None, "step": None,
                        "message": f"{what} returned {type_name(v)}, not a Value"})
    x = num(call(getattr, v, "data"))
    if x is None:
        raise Reported({"kind": "api", "type": "TypeError", "where": None, "line": None, "step": None,
                        "message": f"{what}: .data is {type_name(v.data)}, not a number"})
    return x


def grad_of(v):
    try:
        g = num(v.grad)
    except BaseException:
        return None
    return g


def manual_backward(out, seed):
    """Call every _backward made since the last reset, newest first, starting from out.grad = seed.

    This lets the operation steps be graded before the student's backward() exists."""
    call(setattr, out, "grad", seed)
    for node in reversed(CREATED):
        fn = getattr(node, "_backward", None)
        if callable(fn):
            call(fn)


# ---------------------------------------------------------------- probes
def build_graph(spec, V):
    nodes = []
    for i, op in enumerate(spec):
        kind = op[0]
        try:
            if kind == "leaf":
                node = call(V, op[1])
            elif kind == "add":
                node = call(lambda a, b: a + b, nodes[op[1]], nodes[op[2]])
            elif kind == "mul":
                node = call(lambda a, b: a * b, nodes[op[1]], nodes[op[2]])
            elif kind == "sub":
                node = call(lambda a, b: a - b, nodes[op[1]], nodes[op[2]])
            elif kind == "div":
                node = call(lambda a, b: a / b, nodes[op[1]], nodes[op[2]])
            elif kind == "addc":
                node = call(lambda a: a + op[2], nodes[op[1]])
            elif kind == "cadd":
                node = call(lambda a: op[1] + a, nodes[op[2]])
            elif kind == "mulc":
                node = call(lambda a: a * op[2], nodes[op[1]])
            elif kind == "cmul":
                node = call(lambda a: op[1] * a, nodes[op[2]])
            elif kind == "csub":
                node = call(lambda a: op[1] - a, nodes[op[2]])
            elif kind == "cdiv":
                node = call(lambda a: op[1] / a, nodes[op[2]])
            elif kind == "pow":
                node = call(lambda a: a ** op[2], nodes[op[1]])
            elif kind == "neg":
                node = call(lambda a: -a, nodes[op[1]])
            elif kind in ("tanh", "relu", "sigmoid", "exp", "log"):
                node = call(lambda a: getattr(a, kind)(), nodes[op[1]])
            elif kind == "sum":
                node = call(sum, [nodes[j] for j in op[1]])
            else:
                raise Reported({"kind": "protocol", "message": f"unknown op {kind}"})
        except Reported as failure:
            failure.error["node"] = i
            raise
        data_of(node, f"node {i} ({kind})")
        nodes.append(node)
    return nodes


OPERANDS = {"add": (1, 2), "mul": (1, 2), "sub": (1, 2), "div": (1, 2), "addc": (1,), "mulc": (1,),
            "pow": (1,), "neg": (1,), "tanh": (1,), "cadd": (2,), "cmul": (2,), "csub": (2,),
            "cdiv": (2,), "relu": (1,), "sigmoid": (1,), "exp": (1,), "log": (1,)}


def linked(spec, nodes):
    """For each add/mul/tanh node: how many of its operand nodes appear in its _prev."""
    result = []
    for i, op in enumerate(spec):
        if op[0] not in ("add", "mul", "tanh", "addc", "mulc", "cadd", "cmul", "relu", "sigmoid",
                         "exp", "log"):
            result.append(None)
            continue
        operands = {op[k] for k in OPERANDS[op[0]]}
        try:
            prev_ids = {_id(p) for p in list(nodes[i]._prev)}
        except BaseException:
            result.append(0)
            continue
        result.append(sum(1 for j in operands if _id(nodes[j]) in prev_ids))
    return result


def task_graph(spec, walk, seed=1.0, trace=False):
    V = value_class()
    del CREATED[:]
    nodes = build_graph(spec, V)
    out = nodes[-1]
    calls = []
    if trace:
        trace_backward_calls(nodes, calls)
    if walk == "manual":
        manual_backward(out, seed)
    elif walk == "student":
        call(out.backward)
    report = {
        "data": [data_of(n, "node") for n in nodes],
        "grad": [grad_of(n) for n in nodes],
        "linked": linked(spec, nodes),
    }
    if trace:
        report["calls"] = calls
        report["prev"] = prev_orders(nodes)
    return report


def trace_backward_calls(nodes, calls):
    """Log every _backward call as [spec index (-1 for a node made inside an operation), the
    node's grad at that moment], so the order of the student's walk can be examined."""
    index = {_id(n): i for i, n in enumerate(nodes)}
    for node in list(CREATED):
        original = getattr(node, "_backward", None)
        if not callable(original):
            continue

        def traced(node=node, original=original):
            calls.append([index.get(_id(node), -1), grad_of(node)])
            return original()

        try:
            node._backward = traced
        except BaseException:
            pass


def prev_orders(nodes):
    """Each node's _prev as spec indices, in the order the student's code iterates it."""
    index = {_id(n): i for i, n in enumerate(nodes)}
    orders = []
    for n in nodes:
        try:
            orders.append([index.get(_id(p), -1) for p in list(n._prev)])
        except BaseException:
            orders.append(None)
    return orders


def task_local(spec, preset, seed):
    """Call only the output's own _backward, with every input's grad preset to a known value."""
    V = value_class()
    del CREATED[:]
    nodes = build_graph(spec, V)
    out = nodes[-1]
    for n in nodes[:-1]:
        call(setattr, n, "grad", preset)
    call(setattr, out, "grad", seed)
    call(out._backward)
    return {"grad": [grad_of(n) for n in nodes]}


def check_params(params, what):
    params = call(list, params)
    for p in params:
        if not (hasattr(p, "data") and hasattr(p, "grad")):
            raise Reported({"kind": "api", "type": "TypeError", "where": None, "line": None,
                            "step": None,
                            "message": f"{what} holds a {type_name(p)}, not a Value"})
    return params


def set_params(params, values, what):
    if values is None:
        return
    if _len(params) != _len(values):
        raise Reported({"kind": "api", "type": "ValueError", "where": None, "line": None, "step": None,
                        "message": f"{what} has {_len(params)} parameters, expected {_len(values)}"})
    for p, v in zip(params, values):
        call(setattr, p, "data", v)


def as_inputs(x, x_values):
    V = value_class()
    return [call(V, xi) for xi in x] if x_values else list(x)


def task_neuron(n, init_seed, params=None, x=None, x_values=False, walk="none", seed=1.0):
    nn = module("nn")
    random.seed(init_seed)
    neuron = call(nn.Neuron, n)
    ps = check_params(call(neuron.parameters), "Neuron.parameters()")
    report = {
        "count": _len(ps),
        "distinct": _len({_id(p) for p in ps}),
        "initial": [num(p.data) for p in ps],
        "fresh_list": _id(call(neuron.parameters)) != _id(call(neuron.parameters)),
    }
    if x is None:
        return report
    set_params(ps, params, "Neuron.parameters()")
    inputs = as_inputs(x, x_values)
    del CREATED[:]
    out = call(neuron, inputs)
    report["out"] = data_of(out, "Neuron(x)")
    if walk == "manual":
        manual_backward(out, seed)
        report["param_grad"] = [grad_of(p) for p in ps]
        report["x_grad"] = [grad_of(xi) for xi in inputs] if x_values else None
    return report


def task_neuron_sample(n, count, init_seed):
    nn = module("nn")
    random.seed(init_seed)
    samples = []
    for _ in range(count):
        ps = check_params(call(call(nn.Neuron, n).parameters), "Neuron.parameters()")
        samples.append([num(p.data) for p in ps])
    return {"samples": samples}


def build_mlp(nin, sizes, init_seed, params):
    nn = module("nn")
    random.seed(init_seed)
    model = call(nn.MLP, nin, sizes)
    ps = check_params(call(model.parameters), "MLP.parameters()")
    set_params(ps, params, "MLP.parameters()")
    return model, ps


def task_layer(nin, nout, init_seed, x):
    nn = module("nn")
    random.seed(init_seed)
    layer = call(nn.Layer, nin, nout)
    ps = check_params(call(layer.parameters), "Layer.parameters()")
    out = call(layer, list(x))
    if hasattr(out, "data"):
        shape = "value"
        outs = [data_of(out, "Layer(x)")]
    elif _isinstance(out, (list, tuple)):
        shape = f"list of {_len(out)}"
        outs = [data_of(o, "Layer(x)") for o in out]
    else:
        shape = type_name(out)
        outs = []
    return {"count": _len(ps), "shape": shape, "out": outs}


def task_mlp(nin, sizes, init_seed, params=None, xs=None, walk="none"):
    model, ps = build_mlp(nin, sizes, init_seed, params)
    report = {"count": _len(ps), "distinct": _len({_id(p) for p in ps})}
    if xs is None:
        return report
    outs = []
    for x in xs:
        out = call(model, list(x))
        outs.extend(out if _isinstance(out, (list, tuple)) else [out])
    report["out"] = [data_of(o, "MLP(x)") for o in outs]
    if walk == "student":
        total = outs[0]
        for o in outs[1:]:
            total = call(lambda a, b: a + b, total, o)
        call(total.backward)
        report["param_grad"] = [grad_of(p) for p in ps]
    return report


def task_train(nin, sizes, params, xs, ys, lr, steps, poison=None, record_params=False):
    train = module("train")
    model, ps = build_mlp(nin, sizes, 0, params)
    if poison is not None:
        for p, g in zip(ps, poison):
            call(setattr, p, "grad", g)
    losses, trail = [], []
    for _ in range(steps):
        loss = call(train.train_step, model, [list(x) for x in xs], list(ys), lr)
        value = num(loss) if num(loss) is not None else data_of(loss, "train_step")
        losses.append(value)
        if record_params:
            trail.append([num(p.data) for p in ps])
    predictions = [data_of(call(model, list(x)), "model(x)") for x in xs]
    return {"losses": losses, "params": trail, "final": [num(p.data) for p in ps],
            "predictions": predictions}


def task_softmax(logits, weights=None, target=None):
    """softmax (out.grad of each probability = its weight) or cross_entropy (out.grad = 1), then
    every _backward newest first: the logits' gradients, without the student's backward()."""
    ext = module("extensions")
    V = value_class()
    del CREATED[:]
    xs = [call(V, x) for x in logits]
    if target is None:
        outs = call(ext.softmax, xs)
        outs = call(list, outs)
        probs = [data_of(o, "softmax") for o in outs]
        if _len(outs) != _len(xs):
            raise Reported({"kind": "api", "type": "ValueError", "where": None, "line": None,
                            "step": None, "message": f"softmax of {_len(xs)} scores returned "
                                                     f"{_len(outs)} values"})
        for o, w in zip(outs, weights):
            call(setattr, o, "grad", w)
        for node in reversed(CREATED):
            fn = getattr(node, "_backward", None)
            if callable(fn):
                call(fn)
        return {"out": probs, "grad": [grad_of(x) for x in xs]}
    loss = call(ext.cross_entropy, xs, target)
    value = data_of(loss, "cross_entropy")
    manual_backward(loss, 1.0)
    return {"out": [value], "grad": [grad_of(x) for x in xs]}


def task_classifier(train_x, train_y, test_x, seed):
    ext = module("extensions")
    model = call(ext.train_classifier, [list(x) for x in train_x], list(train_y), seed=seed)
    predictions = []
    for x in test_x:
        label = call(ext.predict, model, list(x))
        predictions.append(num(label))
    return {"predictions": predictions}


TASKS = {
    "load": load,
    "graph": task_graph,
    "local": task_local,
    "neuron": task_neuron,
    "neuron_sample": task_neuron_sample,
    "layer": task_layer,
    "mlp": task_mlp,
    "train": task_train,
    "softmax": task_softmax,
    "classifier": task_classifier,
}


# ---------------------------------------------------------------- the loop
def limit_memory(megabytes):
    if megabytes <= 0:
        return
    try:
        import resource
    except ImportError:       # Windows: no rlimits; the README says so
        return
    cap = megabytes * 1024 * 1024
    for name in ("RLIMIT_AS", "RLIMIT_DATA"):
        limit = getattr(resource, name, None)
        if limit is None:
            continue
        try:
            resource.setrlimit(limit, (cap, cap))
            return
        except (ValueError, OSError):
            continue


def main():
    global SUBMISSION, MEMORY_MB
    SUBMISSION = os.path.abspath(sys.argv[1])
    MEMORY_MB = int(sys.argv[2]) if _len(sys.argv) > 2 else 0
    responses = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    sys.stdin = open(os.devnull)
    sys.path.insert(0, SUBMISSION)
    sys.dont_write_bytecode = True     # never leave __pycache__ in a student's folder
    limit_memory(MEMORY_MB)
    while True:
        line = requests.readline()
        if not line:
            return
        request = _loads(line)
        try:
            result = TASKS[request["task"]](**request.get("args", {}))
            response = {"id": request["id"], "ok": True, "result": result}
        except Reported as failure:
            response = {"id": request["id"], "ok": False, "error": failure.error}
        except BaseException as exc:
            # Raised outside a call into student code: the submission handed back something the
            # probe could not read (or the probe has a bug). Either way, say what it was.
            error = describe(exc)
            error["kind"] = "internal"
            error["message"] = f"the grader could not read what your code returned: " \
                               f"{error['type']}: {error['message']}"
            response = {"id": request["id"], "ok": False, "error": error}
        try:
            sys.stderr.flush()
        except BaseException:
            pass
        # Tells the caller that everything printed during this request has been sent.
        os.write(2, MARKER)
        try:
            text = _dumps(response)
        except BaseException as exc:
            text = _dumps({"id": request["id"], "ok": False,
                           "error": {"kind": "protocol", "message": f"unreadable result: {exc}"}})
        responses.write(text.encode("utf-8", "replace") + b"\n")


if __name__ == "__main__":
    main()
