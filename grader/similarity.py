"""Near-identical code in a class: winnowed fingerprints of the code each student wrote (the
kit's given functions and its stubs left out), the pairs that share nearly all of theirs, and
the submissions that are copies of the reference solutions, each with its matching lines.

Winnowing (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003; the algorithm behind MOSS): the code is cut into tokens, every
run of K tokens is hashed, and of every W hashes in a row the smallest is kept. Two files that
share a run of K + W - 1 tokens share a kept hash; runs shorter than K are noise. Names of
variables and functions count as one token kind, so renaming hides nothing; comments are left
out (as MOSS leaves them out: deleting them hides nothing either); the text of strings counts,
whichever quotes hold it. A fingerprint much of the class shares is an idiom of the tutorial,
not evidence: it is left out of the comparison of students.

Bounded: each submission's code at most MAX_BYTES; pairs are counted through an index of the
fingerprints they share (a fingerprint shared by more than COMMON students is dropped), so a
class of 500 is compared in seconds, not in 125,000 file comparisons.
"""

from __future__ import annotations

import ast
import hashlib
import keyword
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from . import KIT_ROOT, is_checkout, starter_folder, steps
from .intake.submission import open_submission
from .intake.untrusted import clean, parse, read_regular

K = 12                  # tokens in a hashed run: a shorter match is noise
W = 8                   # hashes in a window: a match of K + W - 1 tokens is always seen
MAX_FILE_BYTES = 200_000  # of each of the kit's files (a real engine.py is under 10 KB)
MAX_BYTES = 400_000     # of one submission's other code, in all
MAX_FILES = 40          # other .py files of one submission read
MIN_PRINTS = 12         # fingerprints a submission must keep to be compared at all
THRESHOLD = 0.8         # shared fingerprints over the smaller set: near-identical
REFERENCE = "solutions/"
MAX_REGIONS = 6         # matching regions shown per pair
MAX_REGION_LINES = 40

# Every alternative that starts to match ends its match (an unterminated string ends where its
# line or the text does): nothing is scanned twice, so tokenizing is linear in the text, however
# it is written.
TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))
  | (?P<number>\d[\w.]*)
  | (?P<name>[^\W\d]\w*)
  | (?P<space>\s+)
  | (?P<op>\*\*=?|//=?|->|:=|<<=?|>>=?|[-+*/%@&|^<>=!]=|\S)
""", re.X)
QUOTES = re.compile(r"[rRbBuUfF]*(\"\"\"|'''|\"|')")
KEPT_NAMES = frozenset(keyword.kwlist) | {"self", "math", "Value", "range", "len", "zip",
                                          "isinstance", "set", "list", "sum", "reversed"}


@dataclass
class Prints:
    """One submission's fingerprints: hash -> where (file, first line, last line)."""

    key: str
    where: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Region:
    a_file: str
    a_first: int
    a_last: int
    a_text: str
    b_file: str
    b_first: int
    b_last: int
    b_text: str


@dataclass(frozen=True)
class Pair:
    """Two submissions (b is REFERENCE for a copy of the reference solutions)."""

    a: str
    b: str
    score: float                 # shared fingerprints over the smaller set of the two
    shared: int
    regions: tuple[Region, ...] = ()


def tokens(text: str) -> list[tuple[str, int]]:
    """(token, line) of Python source, read as text (a file that does not parse still has
    tokens): names that are not keywords become one token kind."""
    found = []
    line = 1
    for match in TOKEN.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "comment":
            continue
        if kind == "name":
            found.append((value if value in KEPT_NAMES else "N", line))
        elif kind == "string":
            quotes = QUOTES.match(value)
            inner = value[quotes.end():len(value) - len(quotes.group(1))] if quotes else value
            found.append(('"' + inner, line))           # whichever quotes were used
        elif kind != "space":
            found.append((value, line))
        line += value.count("\n") if kind in ("string", "space") else 0
    return found


def given_removed(name: str, text: str) -> str:
    """A kit file with the kit's given functions blanked out (their lines kept, empty), so that
    line numbers stay the student's. A file that does not parse is kept whole."""
    given = steps.GIVEN.get(name)
    if not given:
        return text
    try:
        tree = parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):   # Costly is a ValueError
        return text
    lines = text.split("\n")
    for node in tree.body:
        owners = [(f"{node.name}.", node.body)] if isinstance(node, ast.ClassDef) else \
            [("", [node])]
        for prefix, body in owners:
            for item in body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        prefix + item.name in given:
                    first = min([item.lineno] + [d.lineno for d in item.decorator_list])
                    for k in range(first - 1, (item.end_lineno or item.lineno)):
                        lines[k] = ""
    return "\n".join(lines)


def fingerprints(key: str, files: Mapping[str, str], base: frozenset[int] = frozenset()
                 ) -> Prints:
    """The winnowed fingerprints of a submission's files, less those of `base` (the stubs)."""
    prints = Prints(key)
    for name in sorted(files):
        text = files[name]
        prints.lines[name] = text.split("\n")
        found = tokens(given_removed(name, text))
        hashes = []
        for k in range(len(found) - K + 1):
            gram = "\0".join(t for t, _ in found[k:k + K]).encode("utf-8", "replace")
            hashes.append((int.from_bytes(hashlib.blake2b(gram, digest_size=8).digest(),
                                          "big"), found[k][1], found[k + K - 1][1]))
        for value, first, last in _winnow(hashes):
            if value not in base and value not in prints.where:
                prints.where[value] = (name, first, last)
    return prints


def _winnow(hashes: list[tuple[int, int, int]]) -> Iterable[tuple[int, int, int]]:
    """Of every W hashes in a row, the smallest (the rightmost of equals), each kept once."""
    if len(hashes) < W:
        yield from [min(hashes, key=lambda h: h[0])] if hashes else []
        return
    last = -1
    for start in range(len(hashes) - W + 1):
        window = hashes[start:start + W]
        low = min(h[0] for h in window)
        at = start + max(k for k, h in enumerate(window) if h[0] == low)
        if at != last:
            last = at
            yield hashes[at]


def read_code(path: Path) -> dict[str, str]:
    """The .py files of a submission in any form the grader takes (folder, zip, notebook),
    regular files only: the kit's files first, each up to MAX_FILE_BYTES, then its other
    files, at most MAX_FILES of them, in what is left of MAX_BYTES. Files added beside the
    graded ones cannot push those out of the comparison."""
    sub = open_submission([path])
    files: dict[str, str] = {}
    try:
        if sub.invalid and not sub.has("engine.py"):
            return files
        kit = [sub.root / name for name in steps.ALL_FILES]
        others = [f for f in sorted(sub.root.rglob("*.py"))[:MAX_FILES * 10] if f not in kit]
        budget = MAX_BYTES
        for k, file in enumerate([*kit, *others[:MAX_FILES]]):
            relative = file.relative_to(sub.root)
            if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                continue
            data = read_regular(file, MAX_FILE_BYTES if k < len(kit) else budget)
            if data is None:
                continue
            budget -= len(data) if k >= len(kit) else 0
            files[relative.as_posix()] = clean(data.decode("utf-8", "replace"))
    finally:
        sub.close()
    return files


def stub_prints() -> frozenset[int]:
    """The fingerprints of the code the kit hands out (the stubs as a whole)."""
    folder = starter_folder()
    files = {name: (folder / name).read_text(encoding="utf-8") for name in steps.ALL_FILES
             if (folder / name).is_file()}
    return frozenset(fingerprints("stubs", {n: t for n, t in files.items()}).where)


def reference_prints(base: frozenset[int]) -> Prints | None:
    """The reference solutions' fingerprints, where this grader has them (a kit checkout)."""
    if not is_checkout():
        return None
    folder = KIT_ROOT / "solutions"
    return fingerprints(REFERENCE, {name: (folder / name).read_text(encoding="utf-8")
                                    for name in steps.ALL_FILES if (folder / name).is_file()},
                        base)


def _regions(a: Prints, b: Prints, shared: Iterable[int]) -> tuple[Region, ...]:
    """The lines both hold, as regions of consecutive matches, the largest first."""
    spans = sorted((a.where[h], b.where[h]) for h in shared)
    merged: list[list[tuple[str, int, int]]] = []
    for (af, a1, a2), (bf, b1, b2) in spans:
        if merged:
            (pf, p1, p2), (qf, q1, q2) = merged[-1]
            if pf == af and qf == bf and a1 <= p2 + 2 and abs(b1 - q2) <= 8 + (p2 - p1):
                merged[-1] = [(pf, p1, max(p2, a2)), (qf, min(q1, b1), max(q2, b2))]
                continue
        merged.append([(af, a1, a2), (bf, b1, b2)])
    merged.sort(key=lambda m: (-(m[0][2] - m[0][1]), m[0]))

    def text(p: Prints, file: str, first: int, last: int) -> str:
        lines = p.lines.get(file, [])[first - 1:min(last, first + MAX_REGION_LINES - 1)]
        more = last - first + 1 - len(lines)
        return "\n".join(lines + ([f"... ({more} more lines)"] if more > 0 else []))
    return tuple(Region(af, a1, a2, text(a, af, a1, a2), bf, b1, b2, text(b, bf, b1, b2))
                 for (af, a1, a2), (bf, b1, b2) in merged[:MAX_REGIONS])


def similar(class_prints: Sequence[Prints], reference: Prints | None = None,
            threshold: float = THRESHOLD) -> list[Pair]:
    """The copies of the reference solutions, then the pairs of students whose own code is
    near-identical (not two copies of the reference), the most similar first."""
    n = len(class_prints)
    common = max(4, n // 5)          # shared by more than this many: an idiom, not evidence
    owners: dict[int, list[int]] = defaultdict(list)
    for k, p in enumerate(class_prints):
        for value in p.where:
            owners[value].append(k)
    kept = [{h for h in p.where if len(owners[h]) <= common} for p in class_prints]
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for who in owners.values():
        if 2 <= len(who) <= common:
            for i, a in enumerate(who):
                for b in who[i + 1:]:
                    counts[(a, b)] += 1
    copies = _copies(class_prints, reference, threshold)
    copied = {pair.a for pair in copies}
    found = []
    for (a, b), shared in counts.items():
        if min(len(kept[a]), len(kept[b])) < MIN_PRINTS or \
                {class_prints[a].key, class_prints[b].key} <= copied:
            continue        # two copies of the reference: each is flagged as one already
        # Of the smaller of the two: code copied and then added to is a copy all the same.
        score = shared / min(len(kept[a]), len(kept[b]))
        if score >= threshold and min(len(kept[a]), len(kept[b])) >= 2 * MIN_PRINTS:
            both = kept[a] & kept[b]
            found.append(Pair(class_prints[a].key, class_prints[b].key, round(score, 3),
                              shared, _regions(class_prints[a], class_prints[b], both)))
    return copies + sorted(found, key=lambda pair: (-pair.score, pair.a, pair.b))


def _copies(class_prints: Sequence[Prints], reference: Prints | None,
            threshold: float) -> list[Pair]:
    """The submissions whose own code is near-identical to the reference solutions'."""
    found: list[Pair] = []
    if reference is None:
        return found
    for p in class_prints:
        # Only the reference's files the student handed in: a copy of engine.py without the
        # bonus's extensions.py is a copy all the same.
        mine = {h for h, (file, _a, _b) in reference.where.items() if file in p.lines}
        # How much of the reference the student's code holds: code added around a copy (a
        # padding of strings) hides nothing.
        shared = len(set(p.where) & mine)
        score = shared / len(mine) if mine else 0.0
        if min(len(p.where), len(mine)) >= MIN_PRINTS and score >= threshold:
            found.append(Pair(p.key, REFERENCE, round(score, 3), shared,
                              _regions(p, reference, set(p.where) & mine)))
    return sorted(found, key=lambda pair: (-pair.score, pair.a))


def compare_class(sources: Mapping[str, Path]) -> list[Pair]:
    """Read each submission (key -> its path) and compare them all, and with the reference
    solutions where this grader has them."""
    base = stub_prints()
    class_prints = [fingerprints(key, read_code(path), base) for key, path in sources.items()]
    return similar(class_prints, reference_prints(base))
