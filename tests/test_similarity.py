"""Similarity flags (issue 20, item 5): near-identical pairs of students' own code and copies of
the reference solutions are flagged with their matching lines, however renamed, reformatted or
stripped of comments; the kit's given code and stubs never count; distinct real styles are not
flagged; the work stays bounded for a class of 500."""

from __future__ import annotations

import io
import re
import shutil
import time
import tokenize

import pytest

from grader import similarity
from grader.commands.batch import run_batch
from grader.limits import Limits
from conftest import EXERCISES, SOLUTIONS, copy_tree, fixture_submission
from test_real_styles import CORRECT, style_submission

CORE = ("engine.py", "nn.py", "train.py")


@pytest.fixture(scope="module")
def base():
    return similarity.stub_prints()


@pytest.fixture(scope="module")
def reference(base):
    return similarity.reference_prints(base)


def _solutions() -> dict[str, str]:
    return {name: (SOLUTIONS / name).read_text(encoding="utf-8") for name in CORE}


def _without_comments(text: str) -> str:
    kept = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type != tokenize.COMMENT]
    return tokenize.untokenize(kept)


DISGUISES = {
    "as is": lambda t: t,
    "renamed": lambda t: re.sub(r"\bout\b", "result", re.sub(r"\bother\b", "rhs", t)),
    "no comments": _without_comments,
    "other quotes and spacing": lambda t: t.replace('"', "'").replace(" + ", "+"),
}


@pytest.mark.parametrize("disguise", DISGUISES)
def test_a_disguised_copy_of_the_solutions_is_flagged(disguise, base, reference):
    copied = {n: DISGUISES[disguise](t) for n, t in _solutions().items()}
    mine = similarity.fingerprints("mallory", copied, base)
    [pair] = similarity.similar([mine], reference)
    assert (pair.a, pair.b) == ("mallory", similarity.REFERENCE) and pair.score > 0.95
    # The matching lines are the student's and the reference's own: __mul__ is among them.
    mul = next(k for k, line in enumerate(copied["engine.py"].splitlines(), 1)
               if "def __mul__" in line)
    assert any(r.a_file == "engine.py" and r.a_first <= mul <= r.a_last for r in pair.regions)
    assert all(r.a_text.splitlines()[0] == copied[r.a_file].splitlines()[r.a_first - 1]
               for r in pair.regions)


def test_distinct_real_styles_are_not_flagged(base, reference, tmp_path):
    prints = [similarity.fingerprints(n, similarity.read_code(style_submission(n, tmp_path / n)),
                                      base) for n in CORRECT]
    assert similarity.similar(prints, reference) == []
    # ... and would be, were two of them one: the test above can fail.
    twin = similarity.fingerprints("twin", {name: "\n".join(lines)
                                            for name, lines in prints[3].lines.items()}, base)
    [pair] = similarity.similar(prints + [twin], reference)
    assert {pair.a, pair.b} == {CORRECT[3], "twin"} and pair.score == 1.0


def test_the_given_code_and_the_stubs_never_count(base, reference):
    stubs = {name: (EXERCISES / name).read_text(encoding="utf-8") for name in CORE}
    two = [similarity.fingerprints(k, stubs, base) for k in ("a", "b")]
    assert [len(p.where) for p in two] == [0, 0]
    assert similarity.similar(two, reference) == []
    # Given functions are blanked out line for line: the rest keeps its line numbers.
    engine = _solutions()["engine.py"]
    blanked = similarity.given_removed("engine.py", engine)
    assert "def __pow__" not in blanked and "def __mul__" in blanked
    assert blanked.count("\n") == engine.count("\n")
    assert similarity.given_removed("engine.py", "def broken(:\n") == "def broken(:\n"


def test_two_students_sharing_their_own_code_are_a_pair_with_its_lines(base, reference,
                                                                      tmp_path):
    style = CORRECT[0]
    a = similarity.read_code(style_submission(style, tmp_path / "a"))
    b = {name: re.sub(r"(?m)^    def ", "    # mine, honestly\n    def ", text)
         for name, text in a.items()}
    others = [similarity.fingerprints(n, similarity.read_code(style_submission(n, tmp_path / n)),
                                      base) for n in CORRECT[1:6]]
    pairs = similarity.similar([similarity.fingerprints("ann", a, base),
                                similarity.fingerprints("ben", b, base), *others], reference)
    [pair] = pairs
    assert (pair.a, pair.b) == ("ann", "ben") and pair.score == 1.0
    region = pair.regions[0]
    assert region.a_text.strip() and region.a_text.splitlines()[0].strip() in b[region.b_file]


def test_without_the_reference_pairs_are_still_compared(base, monkeypatch):
    monkeypatch.setattr(similarity, "is_checkout", lambda: False)
    assert similarity.reference_prints(base) is None
    copies = [similarity.fingerprints(k, _solutions(), base) for k in ("a", "b")]
    [pair] = similarity.similar(copies, None)
    assert (pair.a, pair.b) == ("a", "b")


def test_a_class_of_500_is_compared_in_bounded_time(base, reference, tmp_path):
    # 500 submissions of 17 styles with lines of their own: every style shared by about 30.
    styles = [similarity.read_code(style_submission(name, tmp_path / name)) for name in CORRECT]
    started = time.monotonic()
    prints = []
    for k in range(500):
        files = {n: t.replace("\n    def ", f"\n    x{k} = {k}\n    def ", 1 + k % 5)
                 for n, t in styles[k % len(styles)].items()}
        prints.append(similarity.fingerprints(f"s{k}", files, base))
    pairs = similarity.similar(prints, reference)
    assert time.monotonic() - started < 120
    assert all(int(p.a[1:]) % len(styles) == int(p.b[1:]) % len(styles) for p in pairs)


def test_a_batch_flags_the_copies_of_the_solutions(tmp_path):
    top = tmp_path / "class"
    for k in range(3):
        copy_tree(SOLUTIONS, top / f"copy{k}")
    fixture_submission("mul_not_swapped", top / "fixer")
    shutil.copytree(EXERCISES, top / "starter")
    batch = run_batch(top, tmp_path / "grades.csv", jobs=2, limits=Limits(check_timeout=3),
                      stream=io.StringIO())
    copies = sorted(p.a for p in batch.pairs if p.b == similarity.REFERENCE)
    assert copies[:3] == ["copy0", "copy1", "copy2"] and "starter" not in copies
    summary = (tmp_path / "grades-summary.txt").read_text(encoding="utf-8")
    assert "copy0 and the reference solutions" in summary
    rows = (tmp_path / "grades-similar.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("student,id,similar to") and len(rows) == len(batch.pairs) + 1
    report = (tmp_path / "grades-report.html").read_text(encoding="utf-8")
    assert "copy0" in report and "matching lines" in report


def test_tokenizing_is_linear_however_strings_are_written():
    # Unterminated strings (a backslash-newline inside quotes): each once scanned to the end
    # of its line, then again from the next quote, made 85 KB take 29 s.
    line = 'x = "' + '\\"' * 100_000 + '\\\n"\n'
    started = time.monotonic()
    found = similarity.tokens(line + "'''" + "a" * 100_000)
    assert time.monotonic() - started < 2 and found


def test_files_beside_the_graded_ones_cannot_hide_a_copy(base, reference, tmp_path):
    padded, many = tmp_path / "padded", tmp_path / "many"
    for folder in (padded, many):
        copy_tree(SOLUTIONS, folder, CORE)
    (padded / "a.py").write_text("#" * 399_000 + "\n", encoding="utf-8")   # the whole budget
    for k in range(similarity.MAX_FILES + 5):
        (many / f"a{k:02}.py").write_text("", encoding="utf-8")          # every file slot
    for folder in (padded, many):
        mine = similarity.fingerprints(folder.name, similarity.read_code(folder), base)
        [pair] = similarity.similar([mine], reference)
        assert pair.b == similarity.REFERENCE and pair.score > 0.95


def test_a_copy_with_code_added_is_still_a_pair(base, reference, tmp_path):
    style = CORRECT[0]
    a = similarity.read_code(style_submission(style, tmp_path / "a"))
    extra = "\n".join(f"def helper{k}(v, w):\n    return [v * w + {k} for _ in range({k})]\n"
                      f"def other{k}(x):\n    y = x ** {k} - {k}\n    return y if y else x\n"
                      for k in range(40))
    b = {**a, "helpers.py": extra}
    pairs = similarity.similar([similarity.fingerprints("ann", a, base),
                                similarity.fingerprints("ben", b, base)], reference)
    assert [(p.a, p.b) for p in pairs] == [("ann", "ben")]


def test_a_copy_of_the_reference_padded_with_code_of_its_own_is_still_a_copy(base, reference):
    padded = _solutions()
    padded["engine.py"] += "\nPADDING = (\n" + "".join(
        f"    'line {k} of nothing in particular {k * 7919 % 10007}',\n" for k in range(3000)) + ")\n"
    mine = similarity.fingerprints("mallory", padded, base)
    [pair] = similarity.similar([mine], reference)
    assert (pair.a, pair.b) == ("mallory", similarity.REFERENCE) and pair.score > 0.95
