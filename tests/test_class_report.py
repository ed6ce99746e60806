"""The class report (issue 20, item 4): one HTML page beside the CSV, whole in itself and readable
offline (its plots inline SVG), with the spread of totals, each step's pass rate and mean, the
mistakes to re-teach, the slowest gradings and the similar pairs, every name escaped; read by a
parser and shown in a real headless browser. The terminal summary gets a text histogram."""

from __future__ import annotations

import dataclasses
import re
import shutil
from html.parser import HTMLParser

import pytest

from grader import steps
from grader.report.html import class_page
from grader.report.stats import (UNNAMED, Graded, distribution, histogram_lines, mistakes,
                                 step_stats)
from grader.report.summary import Run, class_summary
from grader.similarity import REFERENCE, Pair, Region
from conftest import ROOT

EVIL = '<img src=x onerror="window.pwned=1">"\'&<script>window.pwned=2</script>'


class Page(HTMLParser):
    """Every tag with its attributes, the text, and the SVG bars of each plot."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.svg: str | None = None
        self.bars: dict[str, list[dict[str, str | None]]] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "svg":
            self.svg = found.get("id") or ""
            self.bars[self.svg] = []
        elif tag == "rect" and found.get("class") == "bar" and self.svg is not None:
            self.bars[self.svg].append(found)

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = None

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def graded(solutions_result, graded_fixture):
    bug = graded_fixture("mul_not_swapped")
    bug2 = graded_fixture("mul_half_swapped")
    tanh = graded_fixture("tanh_derivative_from_input")
    stubs = graded_fixture("broken_empty_engine")
    return [Graded("ada", "ada", solutions_result),
            Graded("evil_1001", EVIL, bug, "canvas", "1001"),
            Graded("bob", "bob", bug2),
            Graded("cy_7", "Cy Núñez", tanh, "moodle", "7"),
            Graded("dee", "dee", stubs)]


def _pairs():
    region = Region("engine.py", 3, 9, "def __add__(self, other):\n    </pre>" + EVIL,
                    "engine.py", 4, 10, "x = 1")
    return [Pair("ada", REFERENCE, 1.0, 150, (region,)), Pair("evil_1001", "bob", 0.93, 120,
                                                                (region,))]


def test_the_numbers_behind_the_report(graded):
    bins = distribution([0, 9.99, 10, 55, 99.9, 100, 100])
    assert bins[0] == ("0-9", 2) and bins[1] == ("10-19", 1) and bins[-1] == ("100", 2)
    assert sum(n for _label, n in bins) == 7 and len(bins) == 11
    lines = histogram_lines([100, 100, 40])
    assert lines[-1].count("#") == 40 and lines[4].count("#") == 20
    found = {s.id: s for s in step_stats([g.result for g in graded])}
    assert found["add"].passed == 4 / 5 and found["mul"].passed == 2 / 5
    named = mistakes(graded)
    assert any(EVIL + " (1001)" in m.students for m in named["mul"])
    assert not named["add"]


def test_a_failure_with_only_the_steps_likely_causes_is_not_called_a_mistake(graded):
    # kit.py falls back to the step's list of likely causes when no mistake is named: the
    # class report counts those apart, never as a mistake named "Likely causes".
    result = graded[1].result
    step = next(s for s in result.steps if s.id == "mul")
    check = next(c for c in step.checks if c.state == "failed")
    vague = dataclasses.replace(check, diagnosis=steps.get("mul").likely)
    changed = dataclasses.replace(result, steps=[
        dataclasses.replace(s, checks=[vague]) if s is step else s for s in result.steps])
    named = mistakes([Graded("eve", "eve", changed)])
    assert [m.text for m in named["mul"]] == [UNNAMED]
    assert not any(m.text.startswith("Likely") for found in mistakes(graded).values()
                   for m in found)


def test_the_page_is_self_contained_and_escapes_everything(graded, tmp_path):
    text = class_page(graded, pairs=_pairs(), feedback_folder="grades", seconds=12.5)
    page = Page()
    page.feed(text)
    tags = {tag for tag, _attrs in page.tags}
    # Nothing runs and nothing loads: no script, no handler, no frame, no stylesheet link, no
    # image; the only URLs are the SVG namespace and the links to the feedback pages.
    assert not tags & {"script", "img", "iframe", "link", "object", "embed"}
    assert not [a for _tag, attrs in page.tags for a in attrs if a.startswith("on")]
    urls = [v for _tag, attrs in page.tags for k, v in attrs.items() if k in ("src", "href")]
    assert all(u.startswith(("#", "grades/")) for u in urls), urls
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # The name and the matching lines arrive as text, exactly.
    shown = "".join(page.text)
    assert EVIL in shown and "</pre>" + EVIL in shown
    # The plots: 11 bars for the totals (their counts the class's), one per step in each of
    # the step plots.
    counts = [int(b["data-count"]) for b in page.bars["histogram"]]
    assert len(counts) == 11 and sum(counts) == 5 and counts[-1] == 1
    assert len(page.bars["pass-rates"]) == len(page.bars["mean-points"]) == len(steps.STEPS)
    for section in ("distribution", "steps", "reteach", "slowest", "similar", "students"):
        assert f'id="{section}"' in text
    assert "the reference solutions (solutions/)" in shown and "Cy Núñez" in shown
    assert re.search(r'href="grades/evil_1001\.md"', text)


def test_the_summary_has_a_histogram_the_slowest_and_the_pairs(graded):
    summary = class_summary(graded, Run(pairs=_pairs(), seconds=3.0, changes=["bob: 40 -> 100"],
                                        regraded=2))
    assert "Totals (students):" in summary and "     100  " in summary
    assert "Slowest gradings:" in summary and "Cy Núñez (7)" in summary
    assert "100%  ada and the reference solutions" in summary
    assert "Regraded 2 graded before: 1 changed" in summary and "  bob: 40 -> 100" in summary


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("Chromium and chromedriver are not installed (CI installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1300,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options,
                            service=webdriver.ChromeService(executable_path=driver_path))


def test_in_a_real_browser_the_report_draws_offline_and_runs_nothing(graded, tmp_path):
    from selenium.webdriver.common.by import By
    report = tmp_path / "grades-report.html"
    report.write_text(class_page(graded, pairs=_pairs(), feedback_folder="grades"),
                      encoding="utf-8")
    browser = _browser()
    try:
        browser.get(report.as_uri())
        assert browser.title == "Class report"
        assert browser.execute_script("return window.pwned === undefined")
        # Nothing was fetched: the page is everything.
        assert browser.execute_script(
            "return performance.getEntriesByType('resource').length") == 0
        bars = browser.find_elements(By.CSS_SELECTOR, "#histogram rect.bar")
        assert len(bars) == 11
        heights = [b.size["height"] for b in bars]
        counts = [int(b.get_attribute("data-count")) for b in bars]
        assert max(heights) > 100 and all((h > 0) == (n > 0) for h, n in zip(heights, counts))
        passed = browser.find_elements(By.CSS_SELECTOR, "#pass-rates rect.bar")
        assert len(passed) == len(steps.STEPS) and passed[0].size["width"] > 0
        table = browser.find_element(By.ID, "students-table").text
        assert EVIL in table and "Cy Núñez" in table
        reteach = browser.find_element(By.ID, "reteach-mul").text
        assert reteach.startswith("mul:")
        # The matching lines open on a click, shown as text.
        browser.find_element(By.CSS_SELECTOR, "#similar-table summary").click()
        assert "def __add__(self, other):" in browser.find_element(By.ID, "similar").text
        artifacts = ROOT / "tests" / "artifacts"
        artifacts.mkdir(exist_ok=True)
        browser.save_screenshot(str(artifacts / "class-report.png"))
    finally:
        browser.quit()
