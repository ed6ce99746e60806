"""The worker: the only process that runs student code. It holds the student's code and a small fixed
protocol, nothing else: no operation table, no expected value, no finite difference (those stay
in the grading process; its stand-in engine asks for its gradients).

Started by grader/sandbox/sandbox.py as `python -S -s -B main.py` with the standard library only
(the grader is not on its path and, under bubblewrap, not even in its view). It reads one
handshake line, seals itself (grader/sandbox/worker/seal.py), then answers one JSON request per
line with plain observations, each answer line starting with a secret token so nothing the
submission prints can pass as one. One process holds one world: the student's whole code, their
files on the stand-in engine, or those on the stand-in and the grader's own network.

Nothing here is a class, and every function handed to student code is made by a factory of
guards.py with globals of its own: from what it is handed, a submission reaches nothing of the
worker's. Each module keeps builtins of its own, so student code that rebinds a builtin changes
nothing here.
"""

from __future__ import annotations

import builtins as _builtins
import itertools
import json
import os
import random
import sys
import types
from typing import Any, Callable

# The worker's own folder is no one's business once its modules are loaded.
HERE = os.path.dirname(os.path.abspath(__file__))

import engine_probes                                        # noqa: E402
import guards                                               # noqa: E402
import network_probes                                       # noqa: E402
import seal                                                 # noqa: E402
import standin                                              # noqa: E402
import world                                                # noqa: E402
from context import Ctx                                     # noqa: E402
from errors import Reported, caller, describe, error_of     # noqa: E402
from tasks import (LOAD, TASKS, Answer, GradientsQuestion, Request,  # noqa: E402
                   Response, Settings)

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                        # type: ignore[assignment]

HANDLERS: dict[str, Callable[..., Answer]] = {
    **engine_probes.TASKS, **network_probes.TASKS,
    LOAD: lambda ctx, names: {name: bool(world.module(ctx, name)) for name in names}}
assert set(HANDLERS) == set(TASKS), "the worker answers exactly the declared tasks"


def make_channel(answers: int, token: bytes, stdin: Any, write: Any, encode: Any,
                 loads: Any, failures: tuple[type[BaseException], ...]
                 ) -> tuple[Callable[[Any], None], Callable[[str, GradientsQuestion], Any]]:
    """answer(obj) writes one token-stamped line; ask(name, payload) writes a question and
    returns the grader's reply (the stand-in engine's gradients). Made isolated: the stand-in
    engine, which student code holds, keeps ask."""
    def answer(obj: Any) -> None:
        write(answers, token + b" " + encode(obj) + b"\n")

    def ask(name: str, payload: GradientsQuestion) -> Any:
        answer({"call": name, **payload})
        line = stdin.readline(1 << 26)
        try:
            return loads(line).get("reply")
        except failures:
            return None
    return answer, ask


def encoder() -> Callable[[Any], bytes]:
    dumps = json.JSONEncoder(allow_nan=True, default=repr).encode
    return lambda obj: dumps(obj).encode("utf-8", "replace")


def sealed_context(settings: Settings) -> Ctx:
    """Seal the process (in the order seal.py gives) and gather what every probe shares."""
    policy = settings.get("guard")
    seal.drop_privileges(settings)
    seal.limit_resources(settings)
    answers = seal.answer_channel()
    sys.stdin = open(os.devnull)
    sys.dont_write_bytecode = True
    refusals: list[str] = []
    names = {"Open": PermissionError, "Import": ImportError, "Frame": ValueError,
             "Attribute": AttributeError, "Action": PermissionError}
    refused_types = {k: type(f"Refused{k}", (base,), {"__module__": "grader"})
                     for k, base in names.items()}
    signals = sys.modules.get("_signal")
    sampled: list[Any] = []          # the answer channel, once there is one
    permitted: set[int] = set()      # frames the worker itself may read (see seal.make_hook)
    if signals is not None and hasattr(signals, "SIGUSR1"):
        signals.signal(signals.SIGUSR1, guards.isolated(guards.make_sampler)(
            sampled, settings["submission"], permitted, types.FrameType.__dict__["f_back"].__get__,
            types.FrameType.__dict__["f_code"].__get__,
            types.FrameType.__dict__["f_lineno"].__get__, types.FrameType, object.__hash__,
            str.startswith, type, BaseException))
    ctx: Ctx = {
        "submission": settings["submission"], "memory_mb": int(settings.get("memory_mb") or 0),
        "policy": policy, "refused": settings.get("refused") or {}, "refusals": refusals,
        "own": tuple(settings.get("modules") or world.KIT_NAMES), "world_name":
        settings.get("world", "student"), "sources": {}, "noted": [], "created": [],
        "recording": [False], "serial": {}, "permitted": permitted, "refused_types": refused_types,
        "refused_classes": tuple(refused_types.values()),
        "sigmask": getattr(signals, "pthread_sigmask", None), "sampled": sampled,
        "signals": signals.valid_signals() if signals is not None else set(),
        "answers": answers, "layers": {}}
    ctx["call"] = caller(ctx)
    if policy is not None:
        seal.preload(policy["preload"], world.KIT_NAMES)
    if settings.get("syscalls"):
        folders = [HERE, settings["submission"], sys.prefix, sys.base_prefix, sys.exec_prefix,
                   "/usr", "/lib", "/lib64", "/etc/ld.so.cache",
                   os.path.dirname(os.path.realpath(sys.executable))]
        ctx["layers"]["landlock"] = seal.landlock(folders)
        hexed = settings.get("seccomp")
        program = bytes.fromhex(hexed) if hexed else None
        ctx["layers"]["seccomp"] = seal.seccomp(program)
    if policy is not None:
        seal.take_apart()
        seal.install_hook(seal.make_hook(policy, settings["submission"], refusals,
                                         refused_types, ctx["permitted"]))
    world.prepare(ctx)
    return ctx


def make_world(ctx: Ctx, ask: Callable[..., Any]) -> None:
    """The world this process holds, made after sealing."""
    name = ctx["world_name"]
    engine = model = None
    if name in ("standin", "model"):
        engine = standin.engine_module(ask, itertools.count())
        if name == "model":
            model = standin.model_module(engine, random.uniform)
    ctx["world"] = world.new_world(ctx, engine, model)
    if engine is not None:
        world.graft(ctx, engine)


def respond(ctx: Ctx, request: Request) -> Response:
    ident = request.get("id")
    try:
        result = HANDLERS[request["task"]](ctx, **request.get("args", {}))
        return {"id": ident, "ok": True, "result": result}
    except Reported as failure:
        return {"id": ident, "ok": False, "error": error_of(failure)}
    except BaseException as exc:
        # Outside a call into student code: the submission handed back something the probe
        # could not read (or the probe has a bug). Either way, say what it was.
        error = describe(ctx, exc)
        error["kind"] = "unreadable"
        error["message"] = f"the grader could not read what your code returned: " \
                           f"{error['type']}: {error['message']}"
        return {"id": ident, "ok": False, "error": error}


def serve() -> None:
    stdin = sys.stdin.buffer
    settings: Settings = json.loads(stdin.readline(1 << 20))
    token = settings["token"].encode("ascii")
    marker = settings["marker"].encode("ascii")
    sys.path[:] = [p for p in sys.path if p and p != HERE]
    ctx = sealed_context(settings)
    answer, ask = guards.isolated(make_channel)(ctx["answers"], token, stdin, os.write,
                                                encoder(), json.loads,
                                                (ValueError, AttributeError))
    make_world(ctx, ask)
    ctx["sampled"].append(answer)
    answer({"ready": True, "pid": os.getpid(), "layers": ctx["layers"]})
    while True:
        line = stdin.readline(1 << 24)
        if not line:
            return
        request: Request = json.loads(line)
        del ctx["refusals"][:]
        response = respond(ctx, request)
        # The Values a probe made are not kept past it: a training run makes thousands.
        ctx["recording"][0] = False
        del ctx["created"][:]
        noted = [r for r in ctx["refusals"] if "(sys._getframe)" not in r]
        if noted:
            response["refused"] = [r[:300] for r in noted[-5:]]
        try:
            sys.stderr.flush()
        except BaseException:
            pass
        os.write(2, marker)          # everything printed during this request has been sent
        try:
            answer(response)
        except BaseException as exc:
            answer({"id": request.get("id"), "ok": False,
                    "error": {"kind": "protocol", "message": f"unreadable result: "
                                                             f"{type(exc).__name__}"}})


if __name__ == "__main__":
    serve()
