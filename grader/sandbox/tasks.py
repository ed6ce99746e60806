"""The tasks a worker answers, declared once: the checks' Kit reads which of the student's files
each needs and in which world it runs, the protocol reads the shape of its answer, and the worker
checks that it answers exactly these.

Plain data, standard library only: the worker is handed a copy of this file. A world is one
worker process: "student" runs the student's whole code; "standin" the student's nn.py, train.py
and extensions.py on the grader's stand-in engine; "model" the student's train.py and
extensions.py on the stand-in engine and the grader's own network.

An answer's shape: "num" is a number or None (a student's non-number), "int", "bool", "str",
"any"; ["x"] is a list of x; ("x", "y") is either; a dict is a record whose keys may be absent
(the checks ask for what the task was asked to compute) but never of another shape.
"""

NUMS = ["num"]
ERROR = {"kind": "str", "message": "str"}
MADE = [{"inputs": ["int"], "local": NUMS}]      # a graph an engine of local derivatives made

TASKS = {
    # task: (the student's files it needs, the world it runs in by default, its answer)
    "load": ((), "student", "any"),
    "anatomy": (("engine",), "student", "any"),      # attribute names are the engine's own
    "graph": (("engine",), "student",
              {"data": NUMS, "grad": NUMS, "linked": [("int", "none")], "made": MADE,
               "at": ["int"]}),
    "local": (("engine",), "student",
              {"grad": NUMS, "default_backward": ("bool", "none"), "local": NUMS,
               "inputs": ["int"]}),
    "structure": (("engine",), "student",
                  {"grad": NUMS, "calls": [["any"]], "prev": [("none", ["int"])]}),
    "given": (("engine",), "student",
              {"results": [{"data": NUMS, "grad": NUMS, "error": ERROR, "made": MADE,
                            "at": ["int"]}]}),
    "neuron": (("nn",), "standin",
               {"count": "int", "distinct": "int", "initial": NUMS, "later_counts": ["int"],
                "out": "num", "param_grad": NUMS, "x_grad": ("none", NUMS), "parts": "bool",
                "listed": ["int"], "parameters_error": ERROR}),
    "neuron_sample": (("nn",), "standin", {"samples": [NUMS]}),
    "layer": (("nn",), "standin", {"count": "int", "shape": "str", "out": NUMS}),
    "mlp": (("nn",), "standin",
            {"count": "int", "distinct": "int", "later_counts": ["int"], "out": NUMS,
             "param_grad": NUMS, "shape": "str"}),
    "train": (("nn", "train"), "standin",
              {"losses": NUMS, "kinds": ["str"], "params": [NUMS], "grads": [NUMS],
               "final": NUMS, "predictions": NUMS}),
    "softmax": (("nn", "extensions"), "standin", {"out": NUMS, "grad": NUMS}),
    "classifier": (("engine", "nn", "extensions"), "student",
                   {"predictions": NUMS, "defaults": "bool",
                    "trace": {"inputs": [NUMS], "targets": [("int", "none")],
                              "dirty": ["bool"]}}),
}

WORLDS = ("student", "standin", "model")

# What a worker may ask the grader while it answers a task (the stand-in engine's gradients):
# the request's name -> the most nodes its graph may have.
CALLBACKS = {"gradients": 20000}
