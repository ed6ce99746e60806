"""The documentation: the site builds strictly, and the README is a front page read in minutes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import unicodedata

import yaml

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = 'python -m pip install -e ".[test]" && python -m pytest'


def test_the_site_builds_strictly_without_a_warning(tmp_path):
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WARNING" not in output, output
    assert (tmp_path / "site" / "students" / "index.html").is_file()
    assert (tmp_path / "site" / "visualize.png").is_file()
    assert time.monotonic() - started < 30


def test_every_page_is_in_the_navigation_and_every_nav_entry_a_page():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = {page for entry in config["nav"] for page in entry.values()}
    assert nav == {p.name for p in (ROOT / "docs").glob("*.md")}


def _anchors(markdown: str) -> set[str]:
    """The anchors GitHub (and MkDocs' toc) give the page's headings."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M):
        text = unicodedata.normalize("NFKC", heading.strip()).lower()
        text = re.sub(r"[^\w\- ]", "", text)
        anchors.add(text.replace(" ", "-"))
    return anchors


def test_every_link_of_the_readme_leads_somewhere():
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    local = [link for link in links if "://" not in link]
    assert "docs/index.md" in local
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else ROOT / "README.md"
        assert target.is_file(), link
        if anchor:
            assert anchor in _anchors(target.read_text(encoding="utf-8")), link


def test_the_front_page_is_short_and_speaks_to_students_first():
    assert len(README.splitlines()) <= 150
    first_run = README.index("<!-- sample:")
    for word in ("pytest-json-report", "selenium", "chromium", ".ci", "pytest"):
        assert word not in README[:first_run].lower(), word
    for word in ("gi_frame", "tb_frame", "seccomp", "bubblewrap"):
        assert word not in README, word
    for command in ("python -m grader --step", "python -m grader hint", "python -m grader --watch",
                    "python -m grader notebook", "python -m grader steps"):
        assert command in README, command


def test_ci_runs_the_readme_test_command_exactly():
    assert TEST_COMMAND in README.splitlines()
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_layout_page_names_every_part_of_the_grader():
    # The tree on docs/layout.md is written by hand: every package and module of grader/ (and
    # of its packages) is named in it, so one added or moved fails here until the page says so.
    page = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    tree = page[page.index("```text"):page.index("```", page.index("```text") + 7)]
    grader = ROOT / "grader"
    missing = []
    for path in sorted(grader.iterdir()):
        if path.name.startswith((".", "__")):
            continue
        if path.is_dir() and f"{path.name}/" not in tree:
            missing.append(f"{path.name}/")
        elif path.suffix == ".py" and path.name not in tree:
            missing.append(path.name)
        if path.is_dir() and path.name not in ("data", "starter", "checks"):
            missing += [f"{path.name}/{module.name}" for module in sorted(path.glob("*.py"))
                        if module.name != "__init__.py" and module.name not in tree
                        and module.stem not in tree]
    assert missing == []
