"""What a hidden check can do: probe the submission through the sandbox and compare with floats.

Checks live in grader/checks/check_*.py and use the `kit` fixture (a Kit). Every verdict is taken
here, in the grading process, on plain floats that came back from the worker; every expected
value comes from finite differences over graphs (grader/ops.py).

Each step is graded on its own. The operation steps run on the student's operations with every
_backward called by the grader; backward() runs on the student's Values joined with the grader's
own _backward functions; neuron, network, training and softmax run on the grader's stand-in
engine. Only the end-to-end run (training's last check) uses the whole of the student's engine.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence, TypeVar, cast

from .. import ops, steps
from ..results import CheckRecord
from ..sandbox import tasks
from ..sandbox.sandbox import Outcome
from ..sandbox.tasks import (TASKS, ErrorAnswer, GraphAnswer, StructureAnswer, StructureGraph,
                             Task)
from . import anatomy, diagnosis, diagnosis_backward, diagnosis_errors, graphs, own_walk, quick
from .anatomy import EngineProfile, walked
from .diagnosis_backward import PresetProbe
from .verdicts import (check_linked, check_values, from_local, how_built, sinks_of,
                       structure_failure, wrong_grads)
from .session import (NOT_THE_SUBMISSION, NUMERICAL, ON_MODEL, ON_STANDIN, PROVIDED, CheckFailed,
                      LoadFailure, Session, as_number, describe_error, fmt)


A = TypeVar("A")             # a task's answer record

class Kit:
    """The checks' handle on the submission. Raises CheckFailed for anything a student can fix."""

    def __init__(self, session: Session, record: CheckRecord) -> None:
        self.session = session
        self.record = record

    @property
    def step(self) -> str:
        return self.record.step

    # -- probing
    def probe(self, task: Task[A], timeout: float | None = None, engine: str | None = None,
              **args: Any) -> A:
        """Run a task in a world (`engine`: student, standin or model; by default the one the
        task table gives it) and return its answer, or raise CheckFailed."""
        engine = engine or (self.session.standin if task in ON_STANDIN else "student")
        needed = TASKS[task][0]
        if engine == "student" and needed and "engine" not in needed:
            needed = ("engine",) + needed
        for name in needed:
            try:
                self._load(name, engine)
            except CheckFailed:
                if not (name == "nn" and engine == "standin" and task in ON_MODEL):
                    raise
                # extensions.py imports nn.py but its softmax needs none of it: a nn.py that
                # does not load costs the steps it holds, not this one.
                engine = "model"
                break
        limit = self.session.limits.check_timeout if timeout is None else timeout
        self.record.limit = max(self.record.limit, limit)
        outcome = self.session.worlds.request(engine, task, timeout=timeout,
                                              apart=self.apart, **args)
        self._keep(outcome)
        if outcome.error is not None:
            error = outcome.error
            if engine == "standin" and self._standin_lacks(error):
                return self._fall_back(task, timeout, error, **args)
            raise CheckFailed(describe_error(error), kind=error.get("kind", "error"),
                              error=error, diagnosis=diagnosis_errors.from_error(
                                  self.step, error, changed=self.session.given_changed))
        assert outcome.result is not None
        # The protocol has checked the answer against the task's record.
        return cast(A, outcome.result)

    def quietly(self, task: Task[A], **args: Any) -> A | None:
        """A probe made only to explain a failure: its own failure explains nothing."""
        try:
            return self.probe(task, **args)
        except CheckFailed:
            return None

    @staticmethod
    def _standin_lacks(error: ErrorAnswer) -> bool:
        """An error that says the student's nn.py needs more of their engine than the kit's API."""
        message = str(error.get("message", ""))
        return (error.get("type") == "AttributeError" and "'Value' object has no attribute"
                in message) or (error.get("type") == "ImportError" and "engine" in message)

    def _fall_back(self, task: Task[A], timeout: float | None, error: ErrorAnswer,
                   **args: Any) -> A:
        self.session.standin = "student"
        note = (f"Your nn.py uses more of your Value than the kit's API ({error.get('message')}), "
                f"so neuron, network, training and softmax were checked with your own engine.")
        if note not in self.session.notes:
            self.session.notes.append(note)
        return self.probe(task, timeout=timeout, engine="student", **args)

    @property
    def apart(self) -> bool:
        """A visible check runs in worlds of its own (see Worlds.world)."""
        return self.record.visible

    def _load(self, name: str, engine: str) -> None:
        key = (engine, name, self.apart)
        failure = self.session.load_failures.get(key)
        if failure is not None:
            raise CheckFailed(failure.text, kind="import", error=failure.error)
        if name in PROVIDED[engine]:
            return
        generation = self.session.worlds.generation(engine, self.apart)
        if generation is not None and self.session.loaded.get(key) == generation:
            return                        # this very worker has loaded it already
        if f"{name}.py" in self.session.missing:
            text = f"{name}.py is missing from the submission"
            error: ErrorAnswer = {"kind": "missing", "message": text, "module": name,
                                  "step": None}
            self.session.load_failures[key] = LoadFailure(text, error)
            raise CheckFailed(text, kind="import", error=error)
        outcome = self.session.worlds.request(engine, tasks.LOAD, names=[name],
                                              apart=self.apart)
        self._keep(outcome)
        if outcome.error is None:
            generation = self.session.worlds.generation(engine, self.apart)
            if generation is not None:
                self.session.loaded[key] = generation
            return
        error = ErrorAnswer(**outcome.error)
        if engine == "standin" and self._standin_lacks(error):
            self._fall_back(tasks.LOAD, None, error, names=[name])
            return
        if error.get("kind") == "not_implemented":
            text = f"{name}.py raised at import time: {describe_error(error)}"
        elif error.get("kind") == "refused" and error.get("admission"):
            text = f"{name}.py was not run: {describe_error(error)}"
        elif error.get("kind") == "refused":
            text = f"{name}.py was stopped while it was imported: {describe_error(error)}"
        else:
            text = f"{name}.py could not be imported: {describe_error(error)}"
        error.setdefault("module", name)
        error.setdefault("step", None)
        # Import failures are the same for every check: remember them, and never wait twice;
        # but not a failure of the sandbox itself, which says nothing about the submission.
        if error.get("kind") not in NOT_THE_SUBMISSION:
            self.session.load_failures[key] = LoadFailure(text, error)
        raise CheckFailed(text, kind="import", error=error,
                          diagnosis=diagnosis_errors.from_error(
                                  self.step, error, changed=self.session.given_changed))

    def _keep(self, outcome: Outcome) -> None:
        self.record.seconds = round(self.record.seconds + outcome.seconds, 4)
        text = outcome.output
        if outcome.refused:
            text += "".join(f"[the grader refused: your code {r}]\n" for r in outcome.refused)
        if text:
            limit = self.session.limits.output_kb * 1024
            kept = self.record.output + text
            if len(kept) > limit:
                kept = kept[:limit] + "\n... (the rest of the output not shown)"
            self.record.output = kept

    # -- verdicts
    def fail(self, message: str, kind: str = "wrong", diagnosis: str | None = None) -> CheckFailed:
        """A failure to raise: `raise kit.fail("...")`."""
        return CheckFailed(message, kind=kind, diagnosis=diagnosis)

    def number(self, value: Any, what: str) -> float:
        x = as_number(value)
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

    def network_world(self) -> str:
        """Where code that uses a network (train_step, train_classifier) is graded on its own:
        the student's network on the stand-in engine when their Neuron and the network
        checkpoint pass, else the grader's network on it ("model")."""
        usable = all(self.passed(step) for step in ("neuron", "network"))
        return self.session.standin if usable else "model"

    # -- how the engine keeps its graph
    def profile(self) -> EngineProfile:
        """The student's engine, profiled once per grading from what its Values keep."""
        if self.session.profile is None:
            # The leaf's probe fails this check when the engine does not import (or Value(x)
            # fails); each operation's is brief and quiet: its own step says what went wrong.
            brief = min(1.0, self.session.limits.check_timeout)
            self.session.profile = anatomy.probe_profile(
                lambda task, **args: self.probe(task, **args) if not args else
                self.quietly(task, timeout=brief, **args))
            note = self.session.profile.note()
            if note and note not in self.session.notes:
                self.session.notes.append(note)
        return self.session.profile

    # -- the operation steps
    def graph(self, spec: graphs.Spec, *, seed: float = 1.0,
              seeds: dict[int, float] | None = None) -> GraphAnswer:
        """Build `spec` with the student's operations, set the sinks' grads, call every
        _backward newest first (no backward() needed), and compare data and gradients. An
        engine of local derivatives is walked here, on its own numbers; an engine with
        neither is walked by its own backward() (from the output, with grad 1)."""
        profile = self.profile()
        public = profile.style == "public"
        sinks = {len(spec) - 1: 1.0} if public else sinks_of(spec, seed, seeds)
        try:
            result = self.probe(tasks.GRAPH, spec=ops.wire(spec),
                                walk="student" if public else "manual", profile=profile.args(),
                                seeds={str(k): v for k, v in sinks.items()})
        except CheckFailed as failure:
            # Diagnosed again, knowing the inputs (an overflow depends on how large they are).
            inputs = [float(node[1]) for node in spec if node[0] == "leaf"]
            failure.diagnosis = diagnosis_errors.from_error(
                self.step, failure.error, inputs, self.session.given_changed) or \
                failure.diagnosis
            raise
        how = how_built(spec, profile, sinks)
        data, grads = result.get("data"), walked(spec, result, sinks)
        if not isinstance(data, list) or not isinstance(grads, list) or \
                len(data) != len(spec) or len(grads) != len(spec):
            raise CheckFailed("the worker's observation has the wrong shape", kind="protocol")
        check_values(spec, data, how)
        check_linked(spec, result.get("linked"), profile, how)
        wrong = wrong_grads(spec, grads, sinks)
        if wrong:
            raise CheckFailed(f"{how}\n{wrong}", kind="wrong_grad", diagnosis=self.explain_ops(spec))
        return result

    def _kept(self) -> str | None:
        """Where an engine of local derivatives keeps them (None for one of _backward)."""
        profile = self.profile()
        return None if profile.backward else (profile.local or profile.pairs)

    def local_probes(self, op: str) -> list[diagnosis.LocalProbe] | None:
        """The operation's _backward called alone at each of its probe points (for an engine
        of local derivatives: what the chain rule makes of its local derivatives there). None
        for an engine with neither."""
        profile = self.profile()
        if profile.style == "public":
            return None
        found = []
        for inputs, presets, upstream in ops.OPS[op].probes:
            spec = diagnosis.local_spec(op, inputs)
            result = self.probe(tasks.LOCAL, spec=ops.wire(spec), presets=[*presets, None],
                                seed=upstream, profile=profile.args())
            if profile.backward:
                got = [as_number(g) for g in result.get("grad", [])][:len(inputs)]
            else:
                got = from_local(result, presets, upstream)
            values = graphs.evaluate(spec)
            default = result.get("default_backward")
            found.append(diagnosis.LocalProbe(
                inputs=list(inputs), presets=list(presets), upstream=upstream,
                output=values[-1], derivatives=graphs.local_derivatives(spec[-1], values),
                got=got, default_backward=default if isinstance(default, bool) else None))
        return found

    def local(self, op: str) -> None:
        """Only the result's own _backward, called once with the inputs' grads already set, at
        several points: each input must get its grad plus local derivative times out.grad.
        (An engine with no _backward per node nor local derivatives: through backward().)"""
        probes = self.local_probes(op)
        if probes is None:
            for inputs, _, _ in ops.OPS[op].probes:
                self.graph(diagnosis.local_spec(op, inputs))
            return
        how = "called out._backward() once" if self.profile().backward else \
            f"applied out's local derivatives ({self.profile().local or self.profile().pairs})"
        for probe in probes:
            for k, got in enumerate(probe.got):
                want = probe.presets[k] + probe.upstream * probe.derivatives[k]
                if got is None or not graphs.close(got, want):
                    spec = diagnosis.local_spec(op, probe.inputs)
                    name = graphs.node_name(spec, k)
                    before = ", ".join(f"{graphs.node_name(spec, j)}.grad = {p:g}"
                                       for j, p in enumerate(probe.presets))
                    raise CheckFailed(
                        f"built {graphs.render(spec)}, set {before} and out.grad = "
                        f"{probe.upstream:g}, then {how}\n"
                        f"got {name}.grad = {fmt(got)}, expected {fmt(want)} "
                        f"({probe.presets[k]:g} before, plus {fmt(want - probe.presets[k])})",
                        kind="wrong_grad", diagnosis=diagnosis.local_rule(op, probes, self._kept()) or
                        steps.get(self.step).likely or None)

    def explain_ops(self, spec: graphs.Spec) -> str | None:
        """Why a graph of the step's operations came out wrong: the first of its operations
        whose _backward, called alone, breaks the chain rule, named by the candidate rules."""
        kinds = [n[0] for n in spec if n[0] != "leaf"]
        for op in dict.fromkeys(ops.STEP_OPS.get(self.step, ())):
            if op not in kinds and not any(ops.OPS[k].step == self.step and
                                           ops.OPS[k].shape == "right" for k in kinds):
                continue
            try:
                probes = self.local_probes(op)
            except CheckFailed:
                continue
            if probes and any(not graphs.close(diagnosis._or_nan(p.got[k]),
                                               p.presets[k] + p.upstream * p.derivatives[k])
                              for p in probes for k in range(len(p.inputs))):
                return diagnosis.local_rule(op, probes, self._kept()) or steps.get(self.step).likely or None
        return steps.get(self.step).likely or None

    # -- backward()
    @staticmethod
    def _structure_args(spec: graphs.Spec) -> StructureGraph:
        values = graphs.evaluate(spec)
        return {"spec": ops.wire(spec), "values": values,
                "locals": [graphs.local_derivatives(node, values) if node[0] != "leaf" else []
                           for node in spec]}

    def structure(self, spec: graphs.Spec, grads_of: Sequence[int] | None = None,
                  after: graphs.Spec | None = None) -> None:
        """backward() on the student's Values joined with the grader's own _backward functions
        (local derivatives by finite differences): only the walk itself is graded. `after`:
        a graph on the same leaves that backward() walks first."""
        profile = self.profile()
        if profile.style == "public":
            # Nothing of the grader's can be attached: the student's operations build it, and
            # the walk is judged on their own local derivatives when those are wrong.
            try:
                self.graph(spec)
            except CheckFailed as failure:
                if failure.kind not in ("wrong_data", "wrong_grad") or not self._own_walk(spec):
                    raise
            return
        args = self._structure_args(spec)
        first = self._structure_args(after) if after is not None else None
        result = self.probe(tasks.STRUCTURE, spec=args["spec"], values=args["values"],
                            locals=args["locals"], after=first, profile=profile.args())
        indices = list(range(len(spec))) if grads_of is None else list(grads_of)
        grads = result.get("grad")
        if not isinstance(grads, list) or len(grads) != len(spec):
            raise CheckFailed("the worker's observation has the wrong shape", kind="protocol")
        text = structure_failure(spec, grads, indices, profile, after)
        if text:
            raise CheckFailed(text, kind="wrong_grad",
                              diagnosis=self._walk_diagnosis(spec, args, result, after))

    def _walk_diagnosis(self, spec: graphs.Spec, args: StructureGraph, result: StructureAnswer,
                        after: graphs.Spec | None) -> str | None:
        """What a wrong walk says of backward(): a second walk from a preset leaf grad tells a
        reset from a missing seed; nodes of the graph walked before tell kept state."""
        profile = self.profile()
        reset: PresetProbe | None = None
        leaf = next((k for k, n in enumerate(spec) if n[0] == "leaf"), None)
        if leaf is not None:
            again = self.quietly(tasks.STRUCTURE, spec=args["spec"], values=args["values"],
                                 locals=args["locals"], presets={str(leaf): 5.0},
                                 profile=profile.args())
            if again is not None:
                reset = {"leaf_before": 5.0, "leaf_after": as_number((again.get("grad") or
                                                                    [None] * len(spec))[leaf])}
        calls = result.get("calls") or []
        if after is not None and any(isinstance(c, list) and c and isinstance(c[0], int) and
                                     c[0] < 0 for c in calls):
            return ("backward() also called the _backward of nodes of the graph it walked "
                    "before: it keeps nodes from one call to the next (a default argument such "
                    "as topo=[] or visited=set() is made once, not at each call; so is a list "
                    "at module level). Start each call with an empty order and visited set.")
        explained = diagnosis_backward.backward_trace(
            spec, [as_number(g) for g in result.get("grad") or []], calls,
            result.get("prev") or [], reset, collapses=profile.collapses)
        return explained or steps.get("backward").likely

    def _own_walk(self, spec: graphs.Spec) -> bool:
        """Whether backward() walked `spec` right on the engine's own local derivatives
        (wrong in some operation, which its own step grades)."""
        def run(mini: graphs.Spec) -> GraphAnswer | None:
            return self.quietly(tasks.GRAPH, spec=ops.wire(mini), walk="student",
                                profile=self.profile().args(),
                                seeds={str(len(mini) - 1): 1.0})
        result = run(spec)
        if result is None:
            return False
        def measure(mini: graphs.Spec) -> list[Any] | None:
            got = run(mini)
            return None if got is None else got.get("grad")
        return own_walk.walk_is_right(spec, result.get("data") or [],
                                      result.get("grad") or [], measure)

    @contextlib.contextmanager
    def built_on(self, step_id: str) -> Iterator[None]:
        """A check of code built on `step_id`'s (the given Layer and MLP on the student's
        Neuron): its failure, while that step does not pass, is said to come from there."""
        self.started(step_id)
        try:
            yield
        except CheckFailed as failure:
            if not self.passed(step_id):
                failure.blocked_by = step_id
                failure.message += (f"\nThis runs your {step_id} code, which does not pass "
                                    f"yet: fix {step_id} first.")
            raise

    def started(self, step_id: str) -> None:
        """Fail as "not started" while `step_id`'s TODO is still the stub: a step of given code
        (network) is graded on its own, but only once the student has begun the code it
        builds on, so that the stubs score 0."""
        cached = self.session.started.get(step_id)
        if cached is None:
            begun = {"neuron": lambda: self.probe(tasks.NEURON, n=2, init_seed=1,
                                                  x=[0.5, -1.0])}[step_id]
            try:
                begun()
                cached = {}
            except CheckFailed as failure:
                cached = failure.error if failure.error.get("kind") == "not_implemented" and \
                    failure.error.get("step") == step_id else {}
            self.session.started[step_id] = cached
        if cached:
            raise CheckFailed(f"waits for {step_id}: {describe_error(cached)}",
                              kind="not_implemented", error=cached)

    # -- what an end-to-end run depends on
    def blame(self, failure: BaseException) -> None:
        """Explain an end-to-end failure by its cause, from evidence: the step whose code
        raised the error (the student's own line is in the message already), a given operation
        missing or changed, or an earlier step whose own checks fail at ordinary values (not a
        step that only lost an overflow check). None of those: the run's failure is its own."""
        if not isinstance(failure, CheckFailed):
            return
        needs = self.record.needs
        cause = self._cause(failure.error or {}, needs)
        if cause is None:
            return
        if cause in steps.STEP_IDS:
            failure.blocked_by = cause
            failure.message += (f"\nThis run uses every step of your code: it fails because "
                                f"{cause} does not pass yet. Fix that first; this check should "
                                f"then pass with it.")
            failure.diagnosis = (f"this run needs every step of your code, and {cause} does not "
                                 f"pass yet: see its own feedback.")
            return
        name, what = cause.split(":", 1)
        failure.blocked_by = name            # given code: no step lost points for it
        failure.message += f"\nThis run fails because the given {name} {what}."
        failure.diagnosis = (f"the given {name} {what}: put back the kit's version of it (the "
                             f"check of the given operations says what it gives).")

    def _cause(self, error: ErrorAnswer, needs: Sequence[str]) -> str | None:
        """The step (or "given function:what happened to it") an end-to-end failure comes
        from, or None."""
        if diagnosis_errors.missing_operation(error):
            # (pred - target) ** 2 with no __pow__: raised at the student's line, caused by
            # the given operation that is gone.
            given = self._given_cause(error)
            if given is not None:
                return given
        if error.get("type") in NUMERICAL:
            # A number grown out of range: wherever it is raised, a run led astray by the
            # gradients of a step that fails at ordinary values reaches it.
            culprits = self.culprits(needs)
            if culprits:
                return culprits[0]
        owners = diagnosis_errors.owners_of(error)
        for owner in owners:               # innermost first: the first that fails is the cause
            if owner == self.step:
                return None                # this step's own code raised it
            if owner is not None and owner in needs and not self.passed(owner):
                return owner
        if any(owner in steps.STEP_IDS for owner in owners):
            return None                    # raised in steps that pass: a failure of its own
        # No error says who: a step failing at ordinary values is evidence; a given operation
        # that is merely missing is not (the run raised no "unsupported operand" error).
        culprits = self.culprits(needs)
        if culprits:
            return culprits[0]
        return self._given_cause(error, missing=False)

    def _given_cause(self, error: ErrorAnswer, missing: bool = True) -> str | None:
        """A given operation that is missing (2 + a with no __radd__), or changed and broken."""
        try:
            found = quick.given_operations(self)
        except CheckFailed:
            return None
        # The operation the error names (2 + a: __radd__), when it names one; else any.
        wanted = diagnosis_errors.operation_of(error)
        for name, info in found.items():
            if missing and "error" in info and diagnosis_errors.missing_operation(info["error"]) and \
                    (wanted is None or name == f"Value.{wanted}"):
                return f"{name}:is missing from your Value (the kit's engine.py has it)"
        for name, info in found.items():
            if info and name in self.session.given_changed:
                return f"{name}:has been changed from the kit's version"
        return None

    def culprits(self, needs: Sequence[str]) -> list[str]:
        """The steps among `needs` whose own checks fail at ordinary values in this run (or,
        when they did not run, whose quick probes fail now)."""
        blamed: list[str] = []
        for step_id in needs:
            verdict = self._graded_verdict(step_id, ordinary=True)
            if not (quick.passes_quickly(self, step_id) if verdict is None else verdict):
                blamed.append(step_id)
        return blamed

    def passed(self, step_id: str) -> bool:
        """Whether every graded check of `step_id` passed in this run (its checks run before
        those of any later step)."""
        return self._graded_verdict(step_id) is True

    def _graded_verdict(self, step_id: str, ordinary: bool = False) -> bool | None:
        """Whether `step_id` passed in this run, when its checks ran before this one (the steps
        run in curriculum order); None when they did not run. `ordinary`: only its checks at
        ordinary values count (an overflow at tanh(1000) breaks no training run)."""
        graded = [r for r in self.session.records
                  if r.step == step_id and r.weight > 0 and not (ordinary and r.edge)]
        if not graded:
            return None
        return all(r.passed for r in graded)
