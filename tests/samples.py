"""Sample outputs in README.md and docs/ from real runs: `python tests/samples.py [--write]`.

A sample is a fenced block after a marker that says which command printed it:

    <!-- sample: python -m grader --step mul
         in: mul-bug
         show: first-failures 1
         mask: <regular expression> -->
    ```
    ...the command's output...
    ```

- `sample:` the command, run by bash (`python` is this interpreter) with NO_COLOR set, in a
  folder of its own: the scene.
- `in:` the scene (default `workspace`), one of SCENES below: what the folder holds. Each page
  builds its scenes afresh, and its samples run in the order they appear, so a sample sees
  what an earlier one on the page wrote (the batch's grades.csv, the gradescope zip).
- `show:` how the output is abridged (FILTERS below; several, applied in order), and
  `prompt` to show the command as `$ command` above its output.
- `mask:` (any number) a regular expression for what may differ from run to run, left out of
  the comparison (only its group `v`, when it has one).

A table written by the grader's own code sits between markers instead, filled in whole:

    <!-- generated: grader.commands.steps:steps_markdown -->

    | step | ...

    <!-- end generated -->

Without --write this checks every sample (exit status 1 and a diff when one is stale); with it,
stale ones are written again from a fresh run. A sample is stale when it differs from the fresh
output beyond what may differ from run to run (times, the version, the machine: VOLATILE).

Every other fenced block must say what it is (tests/test_samples.py checks): commands to type
(each line one), code or text no command printed (tagged python, text or markdown), or a
measurement, which is not regenerated: `<!-- measured: the command, where -->` before it.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import (EXERCISES, FIXTURES, SOLUTIONS, copy_tree,  # noqa: E402
                      fixture_submission, partly_done)

from grader import steps  # noqa: E402

# The pages with samples, in the order a reader meets them.
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]

MARKER = re.compile(r"^(?P<indent>[ \t]*)<!-- sample: (?P<body>.*?)-->[ \t]*\n", re.S | re.M)
FENCE = re.compile(r"(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>[^\n`]*)\n")
GENERATED = re.compile(
    r"^<!-- generated: (?P<source>\S+) -->\n(?P<text>.*?)^<!-- end generated -->", re.S | re.M)

# What may differ between two runs of the same command: never a reason to call a sample stale.
VOLATILE = [
    r"\b\d+\.\d+\.\d+(?:[.+-]\w+)?\b",                  # a version
    r"\b\d\d:\d\d\b",                                   # elapsed time on a progress line
    r"\b\d+(?:\.\d+)? s\b",                             # seconds
    r'"(?:seconds|execution_time)": (?P<v>[\d.]+)',
    r'"(?:worker_python|worker_user)": (?P<v>null|"[^"]*")',
    r'"(?:boundary|seccomp|landlock|cleanup|address_randomization)": (?P<v>"[^"]*")',
    r"[Pp]rotections: (?P<v>.*)",                       # which layers could run on this machine
    r"(?P<v>\b\d+ MB \(container limit: \w+ MB)",     # what this machine's container allows
    r"^Slowest gradings: (?P<v>.*)",                   # which ones, as the machine's load has it
    r",(?P<v>\d+\.\d+),(?:late)?,[^,]*$",                # a batch CSV row's seconds
]


# --------------------------------------------------------------------------- scenes

def _workspace(folder: Path) -> None:
    """exercises/ as the kit hands it out."""
    copy_tree(EXERCISES, folder / "exercises", steps.ALL_FILES)


def _mul_bug(folder: Path) -> None:
    """exercises/ with add and mul written, mul's local gradients not swapped."""
    partly_done(["add", "mul"], folder / "exercises")
    _apply(FIXTURES / "mul_not_swapped", folder / "exercises")


def _solved(folder: Path) -> None:
    """exercises/ with every step written: the reference solutions."""
    copy_tree(SOLUTIONS, folder / "exercises", steps.ALL_FILES)


def _class(folder: Path) -> None:
    """submissions/: a class of 12, correct ones, single bugs, a zip, broken and hostile ones."""
    out = folder / "submissions"
    copy_tree(SOLUTIONS, out / "ada", steps.ALL_FILES)
    copy_tree(SOLUTIONS, out / "ben")
    copy_tree(SOLUTIONS, out / "cleo", steps.ALL_FILES)
    for who, fixture in [("dev", "mul_not_swapped"), ("eli", "backward_no_visited_set"),
                         ("fay", "training_never_zeroes_grads"), ("gus", "neuron_without_bias"),
                         ("hana", "tanh_derivative_from_input"), ("ivo", "broken_missing_nn"),
                         ("jo", "hostile_os_exit_in_mul"),
                         ("kai", "broken_syntax_error_last_line_train")]:
        fixture_submission(fixture, out / who)
    zipped = copy_tree(SOLUTIONS, folder / "lea" / "exercises")
    with zipfile.ZipFile(out / "lea.zip", "w") as archive:
        for path in sorted(zipped.iterdir()):
            archive.write(path, f"exercises/{path.name}")
    shutil.rmtree(folder / "lea")


def _submission(folder: Path) -> None:
    """submission/: a student's engine.py, nn.py and train.py; __mul__ gives other self.grad."""
    fixture_submission("mul_other_gets_self_grad", folder / "submission")


def _grade(folder: Path) -> None:
    """grade/student/: PrairieLearn's folder, with the same submission."""
    fixture_submission("mul_other_gets_self_grad", folder / "grade" / "student")


def _kit(folder: Path) -> Path:
    """An empty folder named micrograd-kit, for commands that write `../SOMETHING`."""
    (folder / "micrograd-kit").mkdir()
    return folder / "micrograd-kit"


def _apply(fixture: Path, target: Path) -> None:
    spec = json.loads((fixture / "mutation.json").read_text(encoding="utf-8"))
    path = target / spec["file"]
    text = path.read_text(encoding="utf-8")
    for old, new in spec["replace"]:
        assert text.count(old) == 1, f"{fixture.name}: not once in {spec['file']}"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


# name -> builds the scene in a folder; returns the folder to run in, when not that one.
SCENES: dict[str, Callable[[Path], Path | None]] = {
    "workspace": _workspace, "mul-bug": _mul_bug, "solved": _solved, "class": _class,
    "submission": _submission, "grade": _grade, "kit": _kit,
}


# --------------------------------------------------------------------------- filters

def _prompt(text: str, sample: Sample) -> str:
    return f"$ {sample.command}\n{text}"


def _head(text: str, sample: Sample, count: str) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:int(count)] + (["..."] if len(lines) > int(count) else []))


def _from(text: str, sample: Sample, pattern: str) -> str:
    """`...`, then from the first line that matches PATTERN (a regular expression without
    spaces) on."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.search(pattern, line))
    return "\n".join((["..."] if start else []) + lines[start:])


def _first_failures(text: str, sample: Sample, count: str = "1") -> str:
    """Each failing step's first COUNT failing checks, in full; `...` for the others."""
    out: list[str] = []
    shown, elided = 0, False
    skipping = False
    for line in text.splitlines():
        if re.match(r"\w+: .*points \(", line):           # a step's details begin
            shown, elided, skipping = 0, False, False
        elif line.startswith("  x ") or line.startswith("  ... and "):
            shown += 1
            skipping = shown > int(count)
            if skipping and not elided:
                out.append("  ...")
                elided = True
        elif not line.startswith("      "):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out)


def _batch(text: str, sample: Sample) -> str:
    """The first two and last two progress lines; the first three of each most-often list."""
    lines = text.splitlines()
    progress = [i for i, line in enumerate(lines) if re.match(r"\d+/\d+ ", line)]
    if len(progress) > 4:
        lines[progress[2]:progress[-2]] = ["..."]
    out: list[str] = []
    in_list = 0
    for line in lines:
        if line.endswith("most often (students):"):
            in_list = 1
        elif in_list and re.match(r"\s+\d+ ", line):
            in_list += 1
            if in_list == 5:
                out.append("     ...")
            if in_list > 4:
                continue
        else:
            in_list = 0
        out.append(line)
    return "\n".join(out)


def _abridge_tests(data: dict, keep: str) -> tuple[dict, int]:
    """The document with its tests cut to the first that passed and the first that failed."""
    tests = data.get("tests", [])
    passed = next((t for t in tests if _test_passed(t)), None)
    failed = next((t for t in tests if not _test_passed(t)), None)
    data["tests"] = [t for t in (passed, failed) if t is not None]
    if isinstance(data.get("output"), str) and len(data["output"]) > int(keep):
        data["output"] = data["output"][:int(keep)] + "..."
    return data, len(tests)


def _test_passed(test: dict) -> bool:
    if "status" in test:
        return test["status"] == "passed"
    return test.get("points") == test.get("max_points")


def _json_tests(text: str, sample: Sample, keep: str = "100") -> str:
    """A results.json cut to two of its tests (one passed, one failed), its output to KEEP
    characters."""
    data, _ = _abridge_tests(json.loads(text), keep)
    return json.dumps(data, indent=2)


def _json_step(text: str, sample: Sample, step: str) -> str:
    """A result's JSON cut to one step and that step's first failing check."""
    data = json.loads(text)
    data["steps"] = [s for s in data["steps"] if s["id"] == step]
    for s in data["steps"]:
        s["checks"] = [next(c for c in s["checks"] if not c["passed"])]
    return json.dumps(data, indent=2)


def _gradescope_try(text: str, sample: Sample) -> str:
    """The log up to the scoreboard's Next line, then results.json cut to two tests."""
    log, _, results = text.partition("--- results/results.json\n")
    lines = log.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("Next: "))
    data, count = _abridge_tests(json.loads(results), "1000000")
    return "\n".join(lines[:end + 1] + ["...", f"--- results/results.json (abridged to two of "
                                               f"its {count} tests)", json.dumps(data, indent=2)])


def _files(text: str, sample: Sample, count: str) -> str:
    """A list of written files cut to its first COUNT and its last."""
    lines = text.splitlines()
    files = [i for i, line in enumerate(lines) if line.startswith("  ")]
    if len(files) > int(count) + 1:
        lines[files[int(count)]:files[-1]] = ["  ..."]
    return "\n".join(lines)


FILTERS: dict[str, Callable[..., str]] = {
    "prompt": _prompt, "head": _head, "from": _from, "first-failures": _first_failures,
    "batch": _batch,
    "json-tests": _json_tests, "json-step": _json_step, "gradescope-try": _gradescope_try,
    "files": _files,
}


# --------------------------------------------------------------------------- pages

@dataclass
class Sample:
    page: str
    command: str
    scene: str = "workspace"
    show: list[list[str]] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    start: int = 0              # the fenced block's content, as offsets into the page
    end: int = 0
    indent: str = ""
    text: str = ""              # the content, indentation removed

    def where(self, page_text: str) -> str:
        return f"{self.page}:{page_text.count(chr(10), 0, self.start)}"


def fenced(text: str) -> list[tuple[int, int, str]]:
    """The page's fenced blocks: (start of the opening line, end of the closing line, info)."""
    blocks = []
    opening: re.Match[str] | None = None
    offset = 0
    for line in text.splitlines(True):
        if opening is None:
            match = FENCE.fullmatch(line if line.endswith("\n") else line + "\n")
            if match:
                opening, start = match, offset
        elif re.fullmatch(r"[ \t]*" + re.escape(opening["fence"][0]) + "{"
                          + str(len(opening["fence"])) + r",}[ \t]*\n?", line):
            blocks.append((start, offset + len(line), opening["info"].strip()))
            opening = None
        offset += len(line)
    return blocks


def _outside(blocks: list[tuple[int, int, str]], position: int) -> bool:
    return not any(start <= position < end for start, end, _ in blocks)


def parse(page: str, text: str) -> list[Sample]:
    """The samples of a page, in order (a marker inside a fenced block is an example, not one)."""
    found = []
    blocks = fenced(text)
    for marker in MARKER.finditer(text):
        if not _outside(blocks, marker.start()):
            continue
        body = [line.strip() for line in marker["body"].strip().splitlines()]
        sample = Sample(page, body[0])
        for line in body[1:]:
            key, _, value = line.partition(":")
            value = value.strip()
            if key == "in":
                if value not in SCENES:
                    raise ValueError(f"{page}: unknown scene {value!r} (known: {list(SCENES)})")
                sample.scene = value
            elif key == "show":
                for part in value.split(","):
                    name, *args = part.split()
                    if name not in FILTERS:
                        raise ValueError(f"{page}: unknown filter {name!r} ({list(FILTERS)})")
                    sample.show.append([name, *args])
            elif key == "mask":
                sample.masks.append(value)
            else:
                raise ValueError(f"{page}: a sample marker has no {key!r}: {line!r}")
        rest = text[marker.end():]
        blank = len(rest) - len(rest.lstrip("\n"))
        fence = FENCE.match(text, marker.end() + blank)
        if fence is None:
            raise ValueError(f"{page}: no fenced block after <!-- sample: {sample.command} -->")
        indent = fence["indent"]
        closing = re.compile("^" + re.escape(indent + fence["fence"]) + r"[ \t]*$", re.M)
        close = closing.search(text, fence.end())
        if close is None:
            raise ValueError(f"{page}: the block after {sample.command!r} never closes")
        sample.start, sample.end, sample.indent = fence.end(), close.start(), indent
        sample.text = "".join(line[len(indent):] if line.startswith(indent) else line.lstrip(" \t")
                              for line in text[sample.start:sample.end].splitlines(True))
        found.append(sample)
    return found


def run(sample: Sample, scenes: dict[str, Path], workdir: Path) -> str:
    """The sample's command, run now in its scene; its output as the page would show it."""
    if sample.scene not in scenes:
        folder = workdir / sample.scene
        folder.mkdir()
        scenes[sample.scene] = SCENES[sample.scene](folder) or folder
    cwd = scenes[sample.scene]
    python = shlex.quote(sys.executable)
    command = re.sub(r"(^|&&|\||;)(\s*)python\b", rf"\1\2{python}", sample.command)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    env.update(NO_COLOR="1", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(ROOT))
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    output = proc.stdout.replace(str(cwd) + os.sep, "").replace(str(workdir) + os.sep, "")
    output = output.replace(sys.executable, "python")
    for name, *args in sample.show:
        output = FILTERS[name](output, sample, *args)
    return output.rstrip("\n") + "\n"


def normal(text: str, masks: Sequence[str] = ()) -> str:
    """The text with everything that may differ between runs masked (a pattern's group `v`
    only, when it has one)."""
    def mask(match: re.Match[str]) -> str:
        if "v" not in match.re.groupindex:
            return "<~>"
        start, end = match.span("v")
        whole = match.group(0)
        return whole[:start - match.start()] + "<~>" + whole[end - match.start():]
    for pattern in [*VOLATILE, *masks]:
        text = re.sub(pattern, mask, text, flags=re.M)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def generated(source: str) -> str:
    """What `module:function` returns, between blank lines (a table must stand alone)."""
    module, _, function = source.partition(":")
    return "\n" + getattr(importlib.import_module(module), function)().strip("\n") + "\n\n"


MEASURED = re.compile(r"^[ \t]*<!-- measured: .*?-->[ \t]*\n", re.S | re.M)
COMMAND = re.compile(r"(\$ |python |docker |mkdocs |pip |cd |git )")
INPUT_INFO = {"python", "text", "markdown"}     # code to write, or text no command printed


def unmarked(page: str) -> list[str]:
    """Fenced blocks of the page that may be some command's output but say nothing of where
    they come from: every block is a sample, a measurement, commands to type (every line one),
    or tagged python, text or markdown."""
    text = (ROOT / page).read_text(encoding="utf-8")
    blocks = fenced(text)
    marked = {m.end() for pattern in (MARKER, MEASURED) for m in pattern.finditer(text)}
    found = []
    for start, end, info in blocks:
        before = text[:start].rstrip("\n") + "\n"
        lines = [line.strip() for line in text[start:end].splitlines()[1:-1] if line.strip()]
        if (len(before) in marked or info.split()[:1] and info.split()[0] in INPUT_INFO
                or lines and all(COMMAND.match(line) for line in lines)):
            continue
        if _outside([b for b in blocks if b[0] != start], start):
            found.append(f"{page}:{text.count(chr(10), 0, start) + 1}")
    return found


@dataclass
class Stale:
    where: str
    what: str                   # the command, or the function of a generated table
    diff: str


def check_page(page: str, write: bool = False) -> list[Stale]:
    """The page's stale samples and tables (rewritten in place with `write`)."""
    path = ROOT / page
    text = path.read_text(encoding="utf-8")
    stale: list[Stale] = []
    edits: list[tuple[int, int, str]] = []
    blocks = fenced(text)
    for match in GENERATED.finditer(text):
        if not _outside(blocks, match.start()):
            continue
        fresh = generated(match["source"])
        if match["text"] != fresh:
            stale.append(Stale(f"{page}:{text.count(chr(10), 0, match.start())}",
                               match["source"], _diff(match["text"], fresh)))
            edits.append((match.start("text"), match.end("text"), fresh))
    samples = parse(page, text)
    if samples:
        with tempfile.TemporaryDirectory(prefix="samples-") as tmp:
            scenes: dict[str, Path] = {}
            for sample in samples:
                fresh = run(sample, scenes, Path(tmp).resolve())
                if normal(sample.text, sample.masks) != normal(fresh, sample.masks):
                    stale.append(Stale(sample.where(text), sample.command,
                                       _diff(sample.text, fresh)))
                    block = "".join(sample.indent + line if line.strip() else line
                                    for line in fresh.splitlines(True))
                    edits.append((sample.start, sample.end, block))
    if write and edits:
        for start, end, new in sorted(edits, reverse=True):
            text = text[:start] + new + text[end:]
        path.write_text(text, encoding="utf-8")
    return stale


def _diff(old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        "on the page", "a run now", n=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/samples.py",
        description="Check the sample outputs in README.md and docs/ against real runs; "
                    "--write regenerates the stale ones in place.")
    parser.add_argument("pages", nargs="*", help=f"pages (default: {', '.join(PAGES)})")
    parser.add_argument("--write", action="store_true", help="rewrite stale samples in place")
    args = parser.parse_args(argv)
    stale_pages = 0
    for page in args.pages or PAGES:
        stale = check_page(page, write=args.write)
        for item in stale:
            print(f"{item.where}: {'rewrote' if args.write else 'stale'}: {item.what}")
            if not args.write:
                print(item.diff)
        stale_pages += bool(stale)
    if not args.write and stale_pages:
        print("run `python tests/samples.py --write` to regenerate them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
