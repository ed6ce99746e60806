"""The gradient view: computed by the graded engine, marked where it disagrees, drawn offline,
and driven in a real headless browser when Chromium and its driver are installed."""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
import sys
import time

import pytest

from grader.checking import graphs
from grader.limits import Limits
from grader.sandbox.worlds import Worlds
from grader.interactive.gradient_view import Server, draw, neuron, observe
from conftest import EXERCISES, ROOT, SOLUTIONS, copy_tree, fixture_submission

ARTIFACTS = ROOT / "tests" / "artifacts"


def _observe(path):
    sandbox = Worlds(path, Limits())
    try:
        return observe(sandbox, neuron({}))
    finally:
        sandbox.close()


def test_the_reference_agrees_with_finite_differences_everywhere():
    data = _observe(SOLUTIONS)
    assert not [n for n in data["nodes"] if n["wrong"]]
    by_label = {n["label"]: n for n in data["nodes"]}
    assert math.isclose(by_label["o"]["data"], 0.7071, abs_tol=1e-4)
    assert math.isclose(by_label["x1"]["grad"], -1.5, abs_tol=1e-4)
    assert 'id="node-9-data"' in data["svg"]


def test_a_buggy_engine_shows_its_own_wrong_gradients(tmp_path):
    data = _observe(fixture_submission("mul_not_swapped", tmp_path))
    wrong = {n["label"] for n in data["nodes"] if n["wrong"]}
    assert wrong == {"x1", "w1", "x2", "w2"}
    x1 = next(n for n in data["nodes"] if n["label"] == "x1")
    assert not math.isclose(x1["grad"], x1["expected_grad"], rel_tol=1e-3)
    assert 'class="node wrong"' in data["svg"]


def test_the_stubs_explain_which_step_is_missing():
    data = _observe(EXERCISES)
    assert "not written yet" in data["error"] and "step" in data["error"]


def test_without_backward_the_operations_gradients_are_shown(tmp_path):
    from conftest import partly_done
    data = _observe(partly_done(["add", "mul", "tanh"], tmp_path))
    assert "backward() is not written yet" in data["note"]
    assert not [n for n in data["nodes"] if n["wrong"]]


def test_draw_any_value_as_inline_svg():
    spec = importlib.util.spec_from_file_location("ref_engine", SOLUTIONS / "engine.py")
    engine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(engine)
    a, b = engine.Value(2.0), engine.Value(-3.0)
    out = (a * b + a).tanh()
    out.backward()
    picture = draw(out)
    text = picture._repr_svg_()
    assert text.startswith("<svg") and text.count('class="node') == 5
    assert "tanh" in text and "data -0.9993" in text   # tanh(2 * -3 + 2)


def test_svg_from_the_command_line(tmp_path):
    out = tmp_path / "graph.svg"
    proc = subprocess.run([sys.executable, "-m", "grader", "visualize", "--solutions", "--svg",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("<svg")


def test_the_server_answers_on_loopback_only():
    import json
    import urllib.request
    server = Server(SOLUTIONS, "solutions/")
    server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        page = urllib.request.urlopen(server.url, timeout=30).read().decode()
        assert "<script>" in page and "http" not in page.split("<script>")[1].split("fetch(")[0]
        data = json.loads(urllib.request.urlopen(server.url + "api/graph?x1=1&x2=0.5",
                                                 timeout=30).read())
        expected = graphs.evaluate(neuron({"x1": 1, "x2": 0.5}))[-1]
        assert math.isclose(data["nodes"][-1]["data"], expected, rel_tol=1e-9)
    finally:
        server.close()


def test_the_page_answers_for_as_long_as_it_is_open():
    # Each request has the whole run limit of its own. A past bug counted it from the server's
    # start: once the page had been open for --run-timeout, every request said "not run: the
    # whole submission used its 120 s".
    import json
    import urllib.request
    limits = Limits(check_timeout=2, run_timeout=2)
    server = Server(SOLUTIONS, "solutions/", limits)
    server.start()

    def graph(x1: float) -> dict:
        return json.loads(urllib.request.urlopen(f"{server.url}api/graph?x1={x1}",
                                                 timeout=60).read())
    try:
        assert "nodes" in graph(1)
        time.sleep(2.5)                               # open for longer than the run limit
        assert server.sandbox.remaining() < 0
        later = graph(0.5)
        assert "error" not in later, later
        expected = graphs.evaluate(neuron({"x1": 0.5}))[-1]
        assert math.isclose(later["nodes"][-1]["data"], expected, rel_tol=1e-9)
        server.sandbox.started -= 3600                # and as if an hour later
        assert "nodes" in graph(-1)
    finally:
        server.close()


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
                 "--disable-sync", "--no-first-run", "--window-size=1400,1100"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver_path)
    return webdriver.Chrome(options=options, service=service)


def _wait(browser, after: str = "", timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = browser.execute_script("return document.body.dataset.ready || ''")
        if ready and ready != after:
            return ready
        time.sleep(0.05)
    raise AssertionError("the page did not finish drawing")


def _text(browser, element_id: str) -> str:
    from selenium.webdriver.common.by import By
    return browser.find_element(By.ID, element_id).text


@pytest.mark.parametrize("which", ["solutions", "buggy", "stubs"])
def test_in_a_real_browser_sliders_recompute_through_the_engine(which, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    path = {"solutions": SOLUTIONS, "stubs": EXERCISES}.get(which) or \
        fixture_submission("mul_not_swapped", tmp_path / "bug")
    browser = _browser()
    server = Server(path, which)
    server.start()
    try:
        browser.get(server.url)
        first = _wait(browser)
        if which == "stubs":
            assert "not written yet" in _text(browser, "message")
            return
        def shown_values():
            return {n: float(browser.find_element(By.ID, n).get_attribute("value"))
                    for n in ("x1", "w1", "x2", "w2", "b")}
        # The b slider moves in steps of 0.01, so it starts at 6.88: o = 0.7064.
        start = graphs.evaluate(neuron(shown_values()))[-1]
        assert _text(browser, "node-9-data") == f"data {start:.4f}"
        slider = browser.find_element(By.ID, "x1")
        browser.execute_script("arguments[0].focus()", slider)
        value = float(slider.get_attribute("value"))
        for _ in range(40):
            slider.send_keys(Keys.ARROW_RIGHT)
        _wait(browser, first)
        time.sleep(0.3)
        _wait(browser, "")
        values = shown_values()
        assert values["x1"] > value
        spec = neuron(values)
        assert _text(browser, "node-9-data") == f"data {graphs.evaluate(spec)[-1]:.4f}"
        fd = graphs.finite_difference_grads(spec)
        assert _text(browser, "node-0-fd") == f"fd {fd[0]:.4f}"
        summary = _text(browser, "summary")
        marked = browser.find_elements(By.CSS_SELECTOR, "g.node.wrong")
        if which == "solutions":
            assert _text(browser, "node-0-grad") == f"grad {fd[0]:.4f}"
            assert "agrees" in summary and not marked
        else:
            assert "Disagrees" in summary and len(marked) == 4
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"visualize-{which}.png"))
    finally:
        browser.quit()
        server.close()


def test_the_page_follows_the_engine_as_it_is_saved(tmp_path):
    import json
    import os
    import urllib.request
    engine = copy_tree(SOLUTIONS, tmp_path / "work") / "engine.py"
    server = Server(engine.parent, "work/")
    server.start()

    def wrong() -> list[str]:
        data = json.loads(urllib.request.urlopen(server.url + "api/graph", timeout=60).read())
        return [n["label"] for n in data["nodes"] if n["wrong"]]
    try:
        assert wrong() == []
        text = engine.read_text(encoding="utf-8")
        engine.write_text(text.replace("self.grad += other.data * out.grad\n",
                                       "self.grad += self.data * out.grad\n"), encoding="utf-8")
        os.utime(engine, ns=(engine.stat().st_atime_ns, engine.stat().st_mtime_ns + 10**9))
        assert wrong(), "a save is seen at the next request"
    finally:
        server.close()
