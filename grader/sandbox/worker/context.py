"""What every probe of one worker shares, typed: its settings, the guard's pieces, the student's
sources and the state of the probe running now.

For the type checker only: at run time Ctx is dict, and the context a plain dict. No class is
made here, as in every worker module: one would be found through object.__subclasses__() (and an
object of it could have its class changed under the worker; see world.new_world).
"""

from __future__ import annotations

import builtins as _builtins
import types
from typing import TYPE_CHECKING, Any, Callable, TypedDict

from tasks import Layers, Policy

# This module's own builtins, as every worker module keeps them.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]


if TYPE_CHECKING:
    class World(TypedDict, total=False):
        """The student's files as this process holds them: those loaded, those a submission may
        import (its own and the allowed modules' copies), those loading now, its builtins."""
        loaded: dict[str, types.ModuleType]
        available: dict[str, types.ModuleType]
        loading: list[str]
        builtins: dict[str, Any]
        own_engine: types.ModuleType | None   # the student's engine.py, lent to the stand-in

    class Ctx(TypedDict, total=False):
        # From the settings, when the worker seals itself (main.sealed_context).
        submission: str                       # the submission's folder, as the worker sees it
        memory_mb: int
        policy: Policy | None                 # None: the run-time guard is off
        refused: dict[str, str]               # module -> why admission refused it
        own: tuple[str, ...]                  # the submission's own modules
        world_name: str
        # The guard's pieces: what it refused, and the exceptions it raises.
        refusals: list[str]
        refused_types: dict[str, type[BaseException]]
        refused_classes: tuple[type[BaseException], ...]
        permitted: set[int]                   # frames the worker itself may read (seal.make_hook)
        sigmask: Callable[..., Any] | None
        signals: set[Any]
        sampled: list[Any]                    # the answer channel, for the sampler
        answers: int                          # the answer channel's descriptor
        layers: Layers                        # what the worker sealed itself with
        call: Callable[..., Any]              # runs student code; errors become Reported
        # Made once by world.prepare: what student code is handed in place of the real thing.
        attribute_guards: Any
        name_getters: Any
        clock: dict[str, Any]
        importing: list[bool]                 # a file's top level is running: stand-ins inert
        withheld: Callable[..., Any]
        # The current world and probe.
        world: World
        sources: dict[str, list[str]]         # file -> its lines, for error records
        noted: list[Any]
        created: list[Any]                    # the Values made since the probe's reset
        recording: list[bool]
        serial: dict[int, int]
        bias_first: bool | None
else:
    Ctx = World = dict
