"""Every output README.md and docs/ show is what its command prints now (see tests/samples.py)."""

from __future__ import annotations

import pytest

import samples
from conftest import ROOT


@pytest.mark.parametrize("page", samples.PAGES)
def test_every_sample_is_what_its_command_prints_now(page):
    stale = samples.check_page(page)
    assert not stale, "\n".join(f"{s.where}: {s.what}\n{s.diff}" for s in stale) + \
        "\nregenerate them with: python tests/samples.py --write"


@pytest.mark.parametrize("page", samples.PAGES)
def test_every_output_block_says_where_it_comes_from(page):
    assert samples.unmarked(page) == []


def test_the_front_page_and_the_guides_show_real_runs():
    count = {page: len(samples.parse(page, (ROOT / page).read_text(encoding="utf-8")))
             for page in samples.PAGES}
    assert count["README.md"] >= 3
    assert count["docs/students.md"] >= 5 and count["docs/instructors.md"] >= 8
    assert count["docs/json-format.md"] == 1


def test_times_versions_and_the_machine_are_not_staleness():
    page = "Graded in 12.6 s.\ngraded by micrograd-kit 0.2.0\n3/30 00:07 s001: 100/100\n"
    run = "Graded in 3.1 s.\ngraded by micrograd-kit 0.3.1\n3/30 00:01 s001: 100/100\n"
    assert samples.normal(page) == samples.normal(run)
    assert samples.normal(page) != samples.normal(page.replace("100/100", "90/100"))
    assert samples.normal('"seconds": 0.42,\n"score": 11.11') != \
        samples.normal('"seconds": 0.42,\n"score": 11.2')


def test_a_stale_sample_is_found_then_written_again_from_a_real_run(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Before.\n\n1. A step:\n\n    <!-- sample: python -m grader steps\n"
                    "         show: head 2, prompt -->\n    ```\n    made up\n    ```\n\n"
                    "<!-- generated: grader.commands.steps:steps_markdown -->\n"
                    "| old |\n<!-- end generated -->\nAfter.\n", encoding="utf-8")
    stale = samples.check_page(str(page))
    assert [s.what for s in stale] == ["grader.commands.steps:steps_markdown",
                                       "python -m grader steps"]
    assert samples.check_page(str(page), write=True)
    assert samples.check_page(str(page)) == []
    text = page.read_text(encoding="utf-8")
    assert "    ```\n    $ python -m grader steps\n    step         points  where\n" in text
    assert text.startswith("Before.\n") and text.endswith("<!-- end generated -->\nAfter.\n")


def test_a_marker_inside_a_fenced_block_is_an_example_not_a_sample(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("````markdown\n<!-- sample: python -m grader steps -->\n```\nx\n```\n````\n",
                    encoding="utf-8")
    assert samples.parse(str(page), page.read_text(encoding="utf-8")) == []
