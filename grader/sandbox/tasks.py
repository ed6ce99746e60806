"""The tasks a worker answers, declared once: the checks' Kit reads which of the student's files
each needs and in which world it runs, the protocol reads the shape of its answer, and the worker
checks that it answers exactly these.

Data and typed records, standard library only: the worker is handed a copy of this file. Its
classes are TypedDicts alone (no method, so nothing of this module's is reachable from them, and
the worker never reads them at run time: the grader checks answers with its own copy);
tests/test_sealed.py keeps it so. A world is one
worker process: "student" runs the student's whole code; "standin" the student's nn.py, train.py
and extensions.py on the grader's stand-in engine; "model" the student's train.py and
extensions.py on the stand-in engine and the grader's own network.

Each answer is a typed record (a TypedDict: the JSON object the worker writes), whose keys may be
absent (the checks ask for what the task was asked to compute) but never of another type:
grader/sandbox/protocol.py refuses an answer that does not fit its task's record. `Num` is a
number or None (where the student's code gave something that is not a number).
"""

from typing import TYPE_CHECKING, Any, Generic, Mapping, TypedDict, TypeVar, Union, cast

# A number, or None where the student's code gave something that is not one.
Num = Union[float, None]
# Any task's answer: a JSON object, one of the records below.
Answer = Mapping[str, object]


class Frame(TypedDict, total=False):
    """One frame of a student's file an exception went through."""
    file: str
    line: int
    function: str
    text: str


class ErrorAnswer(TypedDict, total=False):
    """What went wrong in a probe, as the worker describes it: an exception the student's code
    raised (kind "exception", "timeout", "memory"...) or a file that could not be used (kind
    "missing", "syntax", "refused"; `module` names it)."""
    kind: str
    message: str
    type: Union[str, None]           # the exception's class name
    where: Union[str, None]          # "file.py:12 in function", innermost
    line: Union[str, None]           # that line's text
    step: Union[str, None]           # the step a stub's NotImplementedError names
    stack: list[Frame]               # the student's frames, outermost first
    module: str
    admission: bool                  # refused before it ran
    node: int                        # the graph node whose operation raised it
    loop: Any                        # the grader's: the loop around a timeout (sandbox.py)
    code: Union[int, None]           # the worker's exit status or signal, when it ended


class Policy(TypedDict):
    """What the worker's run-time guard refuses and allows (grader/sandbox/rules.py's, as
    data): the modules it imports before sealing itself, the modules (and names) a submission
    may import, the audit events and attributes it refuses, the builtins it withholds."""
    preload: list[str]
    modules: dict[str, Union[list[str], None]]
    given_only: dict[str, list[str]]
    kit_modules: list[str]
    refused_events: dict[str, str]
    refused_attributes: list[str]
    import_prefixes: list[str]
    forbidden_builtins: list[str]
    withheld_builtins: dict[str, str]
    hints: dict[str, str]
    dunder_attributes: list[str]
    introspection_attributes: list[str]


class Request(TypedDict):
    """One line the grader writes: a task, its arguments, and the number its answer carries."""
    id: int
    task: str
    args: dict[str, Any]             # the task function's keyword arguments


class Response(TypedDict, total=False):
    """The worker's answer line: the task's answer record, or the error record."""
    id: Union[int, None]
    ok: bool
    result: Answer
    error: ErrorAnswer
    refused: list[str]               # what the guard refused meanwhile


class Layers(TypedDict, total=False):
    """What the worker sealed itself with: "on", "abi N", or why not."""
    seccomp: str
    landlock: str


class StructureGraph(TypedDict):
    """A graph the structure task builds of the student's Values, with the grader's rule on
    each node: the graph (wired), each node's value, each node's local derivatives."""
    spec: list[list[Any]]
    values: list[float]
    locals: list[list[float]]


class GradientsQuestion(TypedDict):
    """The stand-in engine's question: d(output)/d(leaf) for each leaf of the graph it made."""
    spec: list[list[Any]]
    leaves: list[int]


class Settings(TypedDict, total=False):
    """The worker's first line: its secrets, then how to seal itself and what it serves."""
    token: str
    marker: str
    submission: str                  # the submission's folder, as the worker sees it
    memory_mb: int
    modules: list[str]               # the submission's own modules
    world: str
    uid: Union[int, None]            # the sandbox's user, when the worker starts as root
    gid: Union[int, None]
    guard: Union[Policy, None]       # None: the run-time guard is off
    refused: dict[str, str]          # module -> why admission refused it
    syscalls: bool                   # the kernel's layers (seccomp, Landlock)
    seccomp: Union[str, None]        # the seccomp filter, as hex
    landlock: bool


class Made(TypedDict, total=False):
    """A node an engine of local derivatives made: its inputs, and its derivative by each."""
    inputs: list[int]
    local: list[Num]


class FieldShape(TypedDict, total=False):
    """What one attribute of a Value holds, in terms the grader compares: its kind (node,
    nodes, numbers, pairs, empty, callable, number, text, other), the container (list, tuple,
    set, dict), its items (node indices, numbers, or [node, number] pairs), a text's start."""
    kind: str
    container: str
    items: list[Any]
    text: str


class OpAnatomy(TypedDict, total=False):
    """What the result of a + b, a * b or tanh(a) keeps (by the engine's own attribute names),
    and the inputs' grads after each of its callables ran (None: it raised)."""
    fields: dict[str, FieldShape]
    moved: dict[str, Union[None, list[Num]]]


class Constructor(TypedDict, total=False):
    """How Value(...) takes a node's inputs: at a position, or under a keyword."""
    position: int
    keyword: str


class AnatomyAnswer(TypedDict, total=False):
    leaf: dict[str, FieldShape]          # what a fresh Value keeps
    collapses: bool                      # Value(1.5) and Value(1.5) are one in a set
    constructor: Union[Constructor, None]
    ops: dict[str, OpAnatomy]


class Profile(TypedDict, total=False):
    """How an engine keeps its graph, as the probes are handed it (the grader's EngineProfile):
    the attributes holding a node's inputs, its _backward, its local derivatives or its
    (input, derivative) pairs, and how the constructor takes inputs."""
    style: str
    children: list[str]
    containers: dict[str, str]
    backward: Union[str, None]
    local: Union[str, None]
    pairs: Union[str, None]
    op: Union[str, None]
    op_names: dict[str, str]
    constructor: Union[Constructor, None]


class MadeGraph(TypedDict, total=False):
    """Every node an engine of local derivatives made, and where the graph's nodes are among
    them: the grader walks it (the answer of graph and local, for such an engine)."""
    made: list[Made]
    at: list[int]


class GraphAnswer(MadeGraph, total=False):
    data: list[Num]
    grad: list[Num]
    linked: list[Union[int, None]]


class LocalAnswer(MadeGraph, total=False):
    grad: list[Num]
    default_backward: Union[bool, None]
    local: list[Num]
    inputs: list[int]


class StructureAnswer(TypedDict, total=False):
    grad: list[Num]
    calls: list[list[Any]]
    prev: list[Union[None, list[int]]]


class GivenResult(MadeGraph, total=False):
    data: list[Num]
    grad: list[Num]
    error: ErrorAnswer


class GivenAnswer(TypedDict, total=False):
    results: list[GivenResult]


class NeuronAnswer(TypedDict, total=False):
    count: int
    distinct: int
    initial: list[Num]
    later_counts: list[int]
    out: Num
    param_grad: list[Num]
    x_grad: Union[None, list[Num]]
    parts: bool
    listed: list[int]
    parameters_error: ErrorAnswer


class SampleAnswer(TypedDict, total=False):
    samples: list[list[Num]]


class LayerAnswer(TypedDict, total=False):
    count: int
    shape: str
    out: list[Num]


class MLPAnswer(TypedDict, total=False):
    count: int
    distinct: int
    later_counts: list[int]
    out: list[Num]
    param_grad: list[Num]
    shape: str


class TrainAnswer(TypedDict, total=False):
    losses: list[Num]
    kinds: list[str]
    params: list[list[Num]]
    grads: list[list[Num]]
    final: list[Num]
    predictions: list[Num]


class SoftmaxAnswer(TypedDict, total=False):
    out: list[Num]
    grad: list[Num]


class Trace(TypedDict, total=False):
    """One watched training: the inputs the network was called on, the targets cross_entropy
    was given, and whether the gradients were dirty before each backward()."""
    inputs: list[list[Num]]
    targets: list[Union[int, None]]
    dirty: list[bool]


class ClassifierAnswer(TypedDict, total=False):
    predictions: list[Num]
    defaults: bool
    trace: Trace


# task name -> (the student's files it needs, the world it runs in by default, its answer's type)
TASKS: dict[str, tuple[tuple[str, ...], str, Any]] = {}
A = TypeVar("A")

if TYPE_CHECKING:
    class Task(str, Generic[A]):
        """A task's name, typed with the record of its answer (for the type checker only: at
        run time a task is its name, a str)."""
else:
    Task = str


def task(name: str, needs: tuple[str, ...], world: str, answer: type[A]) -> "Task[A]":
    """Declare a task, once: its name, the student's files it needs, the world it runs in by
    default and its answer's record. The name comes back typed with that record, so the checks'
    kit.probe(GRAPH, ...) returns a GraphAnswer."""
    TASKS[name] = (needs, world, answer)
    return cast("Task[A]", name)


LOAD = task("load", (), "student", dict[str, bool])
ANATOMY = task("anatomy", ("engine",), "student", AnatomyAnswer)
GRAPH = task("graph", ("engine",), "student", GraphAnswer)
LOCAL = task("local", ("engine",), "student", LocalAnswer)
STRUCTURE = task("structure", ("engine",), "student", StructureAnswer)
GIVEN = task("given", ("engine",), "student", GivenAnswer)
NEURON = task("neuron", ("nn",), "standin", NeuronAnswer)
NEURON_SAMPLE = task("neuron_sample", ("nn",), "standin", SampleAnswer)
LAYER = task("layer", ("nn",), "standin", LayerAnswer)
MLP = task("mlp", ("nn",), "standin", MLPAnswer)
TRAIN = task("train", ("nn", "train"), "standin", TrainAnswer)
SOFTMAX = task("softmax", ("nn", "extensions"), "standin", SoftmaxAnswer)
CLASSIFIER = task("classifier", ("engine", "nn", "extensions"), "student", ClassifierAnswer)

WORLDS = ("student", "standin", "model")

# What a worker may ask the grader while it answers a task (the stand-in engine's gradients):
# the request's name -> the most nodes its graph may have.
CALLBACKS = {"gradients": 20000}
