"""What a hidden check can do: probe the submission through the sandbox and compare with floats.

Checks live in grader/checks/check_*.py and use the `kit` fixture (a Kit). Every verdict is taken
here, in the grading process, on plain floats that came back from the worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from . import diagnosis, graphs
from .run.sandbox import Limits, Sandbox


class CheckFailed(AssertionError):
    """A check's verdict: failed, with a message for the student."""

    def __init__(self, message: str, *, kind: str = "wrong", error: dict[str, Any] | None = None,
                 diagnosis: str | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.error = error or {}
        self.diagnosis = diagnosis


@dataclass
class Session:
    """State shared by all checks of one grading run (grader side only)."""

    sandbox: Sandbox
    limits: Limits
    steps: tuple[str, ...] | None = None          # None: every step
    missing: tuple[str, ...] = ()                 # submission files that do not exist
    sweep: int | None = None                      # run randomized checks with this many seeds
    records: list[dict[str, Any]] = field(default_factory=list)
    load_failures: dict[str, dict[str, Any]] = field(default_factory=dict)


MODULES_FOR_TASK = {
    "graph": ("engine",),
    "local": ("engine",),
    "neuron": ("engine", "nn"),
    "neuron_sample": ("engine", "nn"),
    "layer": ("engine", "nn"),
    "mlp": ("engine", "nn"),
    "train": ("engine", "nn", "train"),
    "softmax": ("engine", "nn", "extensions"),
    "classifier": ("engine", "nn", "extensions"),
}


# Failures that say nothing about the submission: never remembered as its import failure.
NOT_THE_SUBMISSION = ("killed", "protocol", "sandbox", "run_timeout")

LINKED_OPS = ("add", "mul", "tanh", "addc", "mulc", "cadd", "cmul", "relu", "sigmoid", "exp", "log")


def describe_error(error: dict[str, Any]) -> str:
    """One or two lines for an error the worker (or the sandbox) reported."""
    kind = error.get("kind", "")
    message = str(error.get("message", "")).strip()
    where = error.get("where")
    line = error.get("line")
    if kind == "not_implemented":
        text = f"not implemented yet: {message}"
    elif kind in ("timeout", "run_timeout", "crash", "exit", "killed", "protocol", "memory",
                  "refused", "sandbox", "missing"):
        text = message
    elif kind == "import":
        text = message
    elif kind == "syntax":
        text = f"SyntaxError: {message}"
    elif kind == "recursion":
        text = f"RecursionError: {message}"
    elif kind in ("interrupt",):
        text = message
    else:
        etype = error.get("type")
        text = f"{etype}: {message}" if etype and kind != "api" else message
    if where:
        text += f"\n  at {where}" + (f":  {line}" if line else "")
    return text


def _number(x: Any) -> float | None:
    """A value from the worker as a float; None unless it is a real, finite JSON number."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def fmt(x: float | None) -> str:
    return "not a number" if x is None else f"{x:.6g}"


class Kit:
    """The checks' handle on the submission. Raises CheckFailed for anything a student can fix."""

    def __init__(self, session: Session, record: dict[str, Any]) -> None:
        self.session = session
        self.record = record

    # -- probing
    def probe(self, task: str, timeout: float | None = None, **args: Any) -> dict[str, Any]:
        for name in MODULES_FOR_TASK.get(task, ()):
            failure = self.session.load_failures.get(name)
            if failure is not None:
                raise CheckFailed(failure["text"], kind="import", error=failure["error"])
        for name in MODULES_FOR_TASK.get(task, ()):
            self._load(name)
        limit = self.session.limits.check_timeout if timeout is None else timeout
        self.record["limit"] = max(self.record.get("limit", 0.0), limit)
        outcome = self.session.sandbox.request(task, timeout=timeout, **args)
        self._keep_output(outcome.output)
        self._keep_refusals(outcome.refused)
        self.record["seconds"] = round(self.record.get("seconds", 0.0) + outcome.seconds, 4)
        if outcome.error is not None:
            raise CheckFailed(describe_error(outcome.error), kind=outcome.error.get("kind", "error"),
                              error=outcome.error,
                              diagnosis=diagnosis.from_error(self.record["step"], outcome.error))
        assert outcome.result is not None
        return outcome.result

    def _load(self, name: str) -> None:
        if f"{name}.py" in self.session.missing:
            text = f"{name}.py is missing from the submission"
            error = {"kind": "missing", "message": text, "module": name, "step": None}
            self.session.load_failures[name] = {"text": text, "error": error}
            raise CheckFailed(text, kind="import", error=error)
        outcome = self.session.sandbox.request("load", names=[name])
        self._keep_output(outcome.output)
        if outcome.error is None:
            return
        error = dict(outcome.error)
        text = f"{name}.py could not be imported: {describe_error(error)}"
        if error.get("kind") == "not_implemented":
            text = f"{name}.py raised at import time: {describe_error(error)}"
        elif error.get("kind") == "refused" and error.get("admission"):
            text = f"{name}.py was not run: {describe_error(error)}"
        elif error.get("kind") == "refused":
            text = f"{name}.py was stopped while it was imported: {describe_error(error)}"
        error["module"] = name
        error.setdefault("step", None)
        # Import failures are the same for every check: remember them, and never wait twice;
        # but not a failure of the sandbox itself, which says nothing about the submission.
        if error.get("kind") not in NOT_THE_SUBMISSION:
            self.session.load_failures[name] = {"text": text, "error": error}
        raise CheckFailed(text, kind="import", error=error)

    def _keep_refusals(self, refused: list[str]) -> None:
        """What the code tried and the guard refused, though the code went on (it caught it)."""
        if refused:
            self._keep_output("".join(f"[the grader refused: your code {r}]\n" for r in refused))

    def _keep_output(self, text: str) -> None:
        if text:
            limit = self.session.limits.output_kb * 1024
            kept = self.record.get("output", "") + text
            if len(kept) > limit:
                kept = kept[:limit] + "\n... (the rest of the output not shown)"
            self.record["output"] = kept

    # -- comparisons
    def fail(self, message: str, kind: str = "wrong", diagnosis: str | None = None) -> CheckFailed:
        """A failure to raise: `raise kit.fail("...")`."""
        return CheckFailed(message, kind=kind, diagnosis=diagnosis)

    def quietly(self, task: str, **args: Any) -> dict[str, Any] | None:
        """A probe made only to explain a failure: its own failure explains nothing."""
        try:
            return self.probe(task, **args)
        except CheckFailed:
            return None

    def local(self, step: str) -> None:
        """Only the result's own _backward, called once with the inputs' grads already non-zero."""
        spec = diagnosis.LOCAL_PROBES[step]
        result = self.probe("local", spec=spec, preset=diagnosis.PRESET, seed=diagnosis.LOCAL_SEED)
        want = graphs.finite_difference_grads(spec, diagnosis.LOCAL_SEED)
        got = [_number(g) for g in result.get("grad", [])]
        if len(got) != len(spec):
            raise CheckFailed("the worker's observation has the wrong shape", kind="protocol")
        for i in range(len(spec) - 1):
            expected = diagnosis.PRESET + want[i]
            value = got[i]
            if value is None or not graphs.close(value, expected):
                name = graphs.node_name(spec, i)
                raise CheckFailed(
                    f"built {graphs.render(spec)}, set every input's .grad to {diagnosis.PRESET} "
                    f"and out.grad = {diagnosis.LOCAL_SEED}, then called out._backward() once\n"
                    f"got {name}.grad = {fmt(got[i])}, expected {fmt(expected)} "
                    f"({diagnosis.PRESET} + {fmt(want[i])})",
                    kind="wrong_grad", diagnosis=diagnosis.local_rule(step, got))

    def explain_graph(self, spec: graphs.Spec, walk: str) -> str | None:
        step = self.record["step"]
        # The operation to probe: the step's own, or (bonus activations) the graph's last one.
        op = step if step in diagnosis.LOCAL_PROBES else spec[-1][0]
        if walk == "manual" and op in diagnosis.LOCAL_PROBES and \
                (op == step or step == "activations"):
            local = self.quietly("local", spec=diagnosis.LOCAL_PROBES[op],
                                 preset=diagnosis.PRESET, seed=diagnosis.LOCAL_SEED)
            if local is not None:
                return diagnosis.local_rule(op, [_number(g) for g in local.get("grad", [])])
        if walk == "student":
            traced = self.quietly("graph", spec=spec, walk="student", trace=True)
            if traced is not None and isinstance(traced.get("calls"), list) and \
                    isinstance(traced.get("prev"), list):
                grads = [_number(g) for g in traced.get("grad", [])]
                return diagnosis.backward_trace(spec, grads, traced["calls"], traced["prev"])
        return None

    def number(self, value: Any, what: str) -> float:
        x = _number(value)
        if x is None:
            raise CheckFailed(f"{what} should be a finite number, got {value!r}"[:300])
        return x

    def expect_close(self, got: Any, expected: float, what: str, context: str = "",
                     rel: float = graphs.REL_TOL, abs_: float = graphs.ABS_TOL,
                     diagnosis: str | None = None) -> None:
        x = self.number(got, what)
        if not graphs.close(x, expected, rel, abs_):
            err = graphs.relative_error(x, expected)
            lead = f"{context}\n" if context else ""
            raise CheckFailed(f"{lead}got {what} = {fmt(x)}, expected {fmt(expected)} "
                              f"(relative error {err:.2g})", diagnosis=diagnosis)

    def graph(self, spec: graphs.Spec, *, walk: str, seed: float = 1.0,
              grads_of: Sequence[int] | None = None) -> dict[str, Any]:
        """Build `spec` with the student's Value, backpropagate, compare data and grads.

        walk="manual": out.grad = seed, then every _backward, newest node first (the operation
        steps: no dependence on the student's backward()). walk="student": out.backward().
        """
        result = self.probe("graph", spec=spec, walk=walk, seed=seed)
        expected = graphs.evaluate(spec)
        want = graphs.finite_difference_grads(spec, seed if walk == "manual" else 1.0,
                                              only=grads_of)
        how = (f"built {graphs.render(spec)}\n" +
               (f"then set out.grad = {seed:g} and called every _backward, newest first"
                if walk == "manual" else "then called out.backward()"))
        data = result.get("data")
        grads = result.get("grad")
        if not isinstance(data, list) or not isinstance(grads, list) or \
                len(data) != len(spec) or len(grads) != len(spec):
            raise CheckFailed("the worker's observation has the wrong shape", kind="protocol")
        for i in range(len(spec)):
            got = _number(data[i])
            if got is None or not graphs.close(got, expected[i]):
                name = graphs.node_name(spec, i)
                raise CheckFailed(f"{how}\ngot {name}.data = {fmt(got)}, expected "
                                  f"{fmt(expected[i])}", kind="wrong_data")
        linked = result.get("linked")
        if walk == "manual" and isinstance(linked, list) and len(linked) == len(spec):
            for i, op in enumerate(spec):
                parents = set(graphs.operands(op))
                if linked[i] is not None and op[0] in LINKED_OPS and \
                        (not isinstance(linked[i], int) or linked[i] < len(parents)):
                    names = " and ".join(graphs.node_name(spec, j) for j in sorted(parents))
                    raise CheckFailed(
                        f"{how}\nthe result of {graphs.node_text(spec, i)} does not list "
                        f"{names} in its _prev", kind="not_linked",
                        diagnosis="a result that is not linked to its inputs is invisible to "
                                  "backward(): create it as Value(data, (self, other), op) so "
                                  "its _prev holds the inputs.")
        indices = list(range(len(spec))) if grads_of is None else list(grads_of)
        wrong = []
        for i in indices:
            if i == len(spec) - 1 and walk == "manual":
                continue  # set by the harness
            got = _number(grads[i])
            if got is None or not graphs.close(got, want[i]):
                wrong.append((i, got))
        if wrong:
            i, got = wrong[0]
            name = graphs.node_name(spec, i)
            err = graphs.relative_error(got, want[i]) if got is not None else math.inf
            text = (f"{how}\ngot {name}.grad = {fmt(got)}, expected {fmt(want[i])}"
                    + (f" (relative error {err:.2g})" if got is not None else ""))
            if len(wrong) > 1:
                others = ", ".join(graphs.node_name(spec, j) + ".grad" for j, _ in wrong[1:4])
                more = len(wrong) - 4
                text += f"\nalso wrong: {others}" + (f" and {more} more" if more > 0 else "")
            raise CheckFailed(text, kind="wrong_grad", diagnosis=self.explain_graph(spec, walk))
        return result
