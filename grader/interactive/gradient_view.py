"""See the gradients flow: the tutorial's neuron computed by the student's own engine, in a page.

`python -m grader visualize` serves a page on 127.0.0.1 that draws o = tanh(x1*w1 + x2*w2 + b)
with every node's operation, data and grad, as the engine being graded computes them (in the
same isolated worker the grader uses), and the finite-difference value next to each gradient,
so a wrong node stands out. Sliders recompute it. `draw(value)` draws any Value's graph as SVG,
inline in a notebook. Everything is in this file: no file is fetched at run time.
"""

from __future__ import annotations

import html
import json
import math
import threading
import time
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Sequence, cast
from urllib.parse import parse_qs, urlparse

from .. import steps
from ..checking import graphs
from ..checking.anatomy import chain_rule, probe_profile
from ..checking.session import describe_error
from ..sandbox import tasks
from ..sandbox.tasks import AnatomyAnswer, GraphAnswer
from .. import ops
from ..ops import OPS
from ..limits import Limits
from ..intake.submission import snapshot
from ..sandbox.worlds import Worlds

PARAMETERS = (("x1", 2.0), ("w1", -3.0), ("x2", 0.0), ("w2", 1.0), ("b", 6.8813735870195432))

def neuron(values: dict[str, float]) -> graphs.Spec:
    return graphs.neuron_spec(*(float(values.get(name, default)) for name, default in PARAMETERS))


@dataclass
class Node:
    index: int
    label: str
    op: str
    data: float | None
    grad: float | None
    expected_grad: float
    expected_data: float

    @property
    def wrong(self) -> bool:
        return self.grad is None or self.data is None or not graphs.close(
            self.grad, self.expected_grad) or not graphs.close(self.data, self.expected_data)


def observe(worlds: Worlds, spec: graphs.Spec) -> dict[str, Any]:
    """The graph as the student's engine computes it, beside finite differences. Each view
    has the whole run's time of its own: the page stays live for as long as it is open."""
    worlds.started = time.monotonic()
    expected = graphs.evaluate(spec)
    want = graphs.finite_difference_grads(spec)
    note = ""
    outcome = worlds.request("student", tasks.GRAPH, spec=ops.wire(spec), walk="student")
    error = outcome.error
    if error is not None and error.get("kind") == "not_implemented" and \
            error.get("step") == "backward":
        # Without backward() the operations' own rule can still be shown.
        profile = probe_profile(lambda task, **args: cast("AnatomyAnswer | None", worlds.request(
            "student", task, timeout=1.0 if args else None, **args).result))
        rule = f"calling each node's {profile.backward}" if profile.backward else \
            "applying the chain rule to each node's local derivatives"
        note = (f"backward() is not written yet (step backward): the gradients below come from "
                f"setting o.grad = 1 and {rule}, newest first.")
        outcome = worlds.request("student", tasks.GRAPH, spec=ops.wire(spec), walk="manual",
                                 profile=profile.args())
        error = outcome.error
        made = cast("GraphAnswer | None", outcome.result)
        if made is not None and "made" in made:
            made["grad"] = [*chain_rule(made.get("made") or [], made.get("at") or [],
                                        {len(spec) - 1: 1.0})]
    if error is not None:
        step = error.get("step")
        if error.get("kind") == "not_implemented" and step in steps.STEP_IDS:
            message = (f"{steps.get(step).where} is not written yet (step {step}): the graph "
                       f"cannot be built without it.")
        else:
            message = describe_error(error)
        return {"error": message, "output": outcome.output}
    result = cast(GraphAnswer, outcome.result or {})       # the protocol checked it
    names = graphs.leaf_names(spec)
    nodes = []
    for i, op in enumerate(spec):
        data = _finite(result.get("data", [None] * len(spec))[i])
        grad = _finite(result.get("grad", [None] * len(spec))[i])
        label = names.get(i) or ("o" if i == len(spec) - 1 else OPS[op[0]].symbol)
        nodes.append(Node(i, label, op[0], data, grad, want[i], expected[i]))
    return {"nodes": [n.__dict__ | {"wrong": n.wrong} for n in nodes],
            "edges": [[j, i] for i, op in enumerate(spec) for j in graphs.operands(op)],
            "note": note, "output": outcome.output, "svg": svg(spec, nodes)}


def _finite(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


# ---------------------------------------------------------------- drawing
def layout(parents: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """(column, row) per node: the column is the longest path from a leaf. Nodes may come in any
    order, so depths are relaxed until they settle (graphs drawn here are small)."""
    depth = [0] * len(parents)
    for _ in range(len(parents)):
        changed = False
        for i, ps in enumerate(parents):
            want = 1 + max((depth[p] for p in ps), default=-1)
            if want != depth[i]:
                depth[i], changed = want, True
        if not changed:
            break
    rows: dict[int, int] = {}
    spots = []
    for d in depth:
        spots.append((d, rows.get(d, 0)))
        rows[d] = rows.get(d, 0) + 1
    return spots


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:.4f}"


def render(labels: Sequence[str], datas: Sequence[float | None], grads: Sequence[float | None],
           parents: Sequence[Sequence[int]], expected: Sequence[float] | None = None,
           wrong: Sequence[bool] | None = None) -> str:
    """An SVG of a graph: a box per node with its label, data and grad, arrows to consumers."""
    spots = layout(parents)
    width, height = 210, 74
    gap_x, gap_y = 70, 26
    columns = max(c for c, _ in spots) + 1 if spots else 1
    tallest = max((sum(1 for c, _ in spots if c == col) for col in range(columns)), default=1)

    def box(i: int) -> tuple[float, float]:
        col, row = spots[i]
        in_column = sum(1 for c, _ in spots if c == col)
        offset = (tallest - in_column) * (height + gap_y) / 2
        return 20 + col * (width + gap_x), 20 + offset + row * (height + gap_y)

    total_w = 40 + columns * width + (columns - 1) * gap_x
    total_h = 40 + tallest * height + (tallest - 1) * gap_y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" '
             f'height="{total_h:.0f}" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
             f'font-family="monospace" font-size="13">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
             'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for i, ps in enumerate(parents):
        x2, y2 = box(i)
        for p in ps:
            x1, y1 = box(p)
            parts.append(f'<line x1="{x1 + width:.0f}" y1="{y1 + height / 2:.0f}" '
                         f'x2="{x2:.0f}" y2="{y2 + height / 2:.0f}" stroke="#555" '
                         f'marker-end="url(#arrow)"/>')
    for i, label in enumerate(labels):
        x, y = box(i)
        bad = bool(wrong and wrong[i])
        fill, stroke = ("#fde2e1", "#c0392b") if bad else ("#eef4fb", "#2c6fb7")
        parts.append(f'<g id="node-{i}" class="node{" wrong" if bad else ""}">'
                     f'<rect x="{x:.0f}" y="{y:.0f}" width="{width}" height="{height}" rx="8" '
                     f'fill="{fill}" stroke="{stroke}" stroke-width="{3 if bad else 1.5}"/>')
        parts.append(f'<text x="{x + 10:.0f}" y="{y + 20:.0f}" font-weight="bold">'
                     f'{html.escape(label)}</text>')
        parts.append(f'<text id="node-{i}-data" x="{x + 10:.0f}" y="{y + 40:.0f}">'
                     f'data {_num(datas[i])}</text>')
        parts.append(f'<text id="node-{i}-grad" x="{x + 10:.0f}" y="{y + 60:.0f}">'
                     f'grad {_num(grads[i])}</text>')
        if expected is not None:
            parts.append(f'<text id="node-{i}-fd" x="{x + 110:.0f}" y="{y + 60:.0f}" '
                         f'fill="{"#c0392b" if bad else "#777"}">fd {_num(expected[i])}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def svg(spec: graphs.Spec, nodes: Sequence[Node]) -> str:
    return render([n.label for n in nodes], [n.data for n in nodes], [n.grad for n in nodes],
                  [graphs.operands(op) for op in spec], [n.expected_grad for n in nodes],
                  [n.wrong for n in nodes])


class Drawing:
    """An SVG that shows itself inline in Jupyter and can be saved to a file."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_svg_(self) -> str:
        return self.text

    def save(self, path: str | Path) -> Path:
        Path(path).write_text(self.text, encoding="utf-8")
        return Path(path)


def draw(value: Any) -> Drawing:
    """The graph behind any Value you built, e.g. draw(loss): in a notebook it shows inline."""
    nodes: list[Any] = [value]
    index = {id(value): 0}
    k = 0
    while k < len(nodes):          # every node reachable through _prev, each once
        for parent in getattr(nodes[k], "_prev", ()):
            if id(parent) not in index:
                index[id(parent)] = len(nodes)
                nodes.append(parent)
        k += 1
    labels = [str(getattr(n, "_op", "") or "value") for n in nodes]
    return Drawing(render(labels, [_finite(getattr(n, "data", None)) for n in nodes],
                          [_finite(getattr(n, "grad", None)) for n in nodes],
                          [[index[id(p)] for p in getattr(n, "_prev", ())] for n in nodes]))


# ---------------------------------------------------------------- the page
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>micrograd-kit: gradient flow in one neuron</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
 .sliders { display: grid; grid-template-columns: 40px 260px 90px; gap: 6px 12px;
            align-items: center; max-width: 420px; }
 #message { margin: 12px 0; padding: 8px 12px; border-radius: 6px; display: none; }
 #message.error { display: block; background: #fde2e1; }
 #message.note { display: block; background: #fff6d6; }
 #summary { margin: 8px 0; }
 pre { background: #f4f4f4; padding: 8px; max-height: 120px; overflow: auto; }
</style></head><body>
<h1>o = tanh(x1&middot;w1 + x2&middot;w2 + b)</h1>
<p>Computed by the engine in <code>__LABEL__</code>. Each box shows the node's data and grad
from <em>your</em> code, and <code>fd</code>: the gradient by finite differences. Boxes in red
disagree.</p>
<div class="sliders">__SLIDERS__</div>
<div id="message"></div>
<div id="summary"></div>
<div id="graph"></div>
<pre id="output" hidden></pre>
<script>
const names = __NAMES__;
let pending = null;
function params() {
  return names.map(n => n + "=" + encodeURIComponent(document.getElementById(n).value)).join("&");
}
async function refresh() {
  names.forEach(n => document.getElementById(n + "-value").textContent =
    Number(document.getElementById(n).value).toFixed(2));
  const response = await fetch("/api/graph?" + params());
  const data = await response.json();
  const message = document.getElementById("message");
  message.className = data.error ? "error" : (data.note ? "note" : "");
  message.textContent = data.error || data.note || "";
  document.getElementById("graph").innerHTML = data.svg || "";
  const wrong = (data.nodes || []).filter(n => n.wrong).map(n => n.label);
  document.getElementById("summary").textContent = data.error ? "" :
    (wrong.length ? "Disagrees with finite differences: " + wrong.join(", ")
                  : "Every gradient agrees with finite differences.");
  const out = document.getElementById("output");
  out.hidden = !data.output; out.textContent = data.output || "";
  document.body.dataset.ready = String(Date.now());
}
names.forEach(n => document.getElementById(n).addEventListener("input", () => {
  clearTimeout(pending); pending = setTimeout(refresh, 60);
}));
refresh();
</script></body></html>
"""


def page(label: str) -> str:
    sliders = []
    for name, default in PARAMETERS:
        sliders.append(f'<label for="{name}">{name}</label><input type="range" id="{name}" '
                       f'min="-4" max="{8 if name == "b" else 4}" step="0.01" value="{default}">'
                       f'<span id="{name}-value"></span>')
    return (PAGE.replace("__LABEL__", html.escape(label)).replace("__SLIDERS__", "\n".join(sliders))
            .replace("__NAMES__", json.dumps([name for name, _ in PARAMETERS])))


class Server:
    """The page and its one API, on 127.0.0.1; one worker answers, one request at a time."""

    def __init__(self, submission: Path, label: str, limits: Limits | None = None,
                 run_as: str | None = "auto", source: Path | None = None,
                 reopen: Callable[[], Path] | None = None) -> None:
        self.submission, self.limits, self.run_as = submission, limits or Limits(), run_as
        # `reopen`: where the submission is after it changed (a notebook or a zip is unpacked
        # again); by default the folder itself.
        self.reopen = reopen or (lambda: submission)
        self.source = source or submission          # what a save changes
        self.watched = snapshot(self.source)
        self.sandbox = Worlds(submission, self.limits, run_as=run_as)
        self.label = label
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:     # keep the terminal quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (the http.server name)
                url = urlparse(self.path)
                if url.path == "/":
                    self._send(200, "text/html; charset=utf-8", page(outer.label).encode())
                elif url.path == "/api/graph":
                    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    try:
                        values = {n: float(query.get(n, d)) for n, d in PARAMETERS}
                    except ValueError:
                        self._send(400, "application/json", b'{"error": "bad number"}')
                        return
                    with outer.lock:
                        outer.follow()
                        data = observe(outer.sandbox, neuron(values))
                    self._send(200, "application/json", json.dumps(data).encode())
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def follow(self) -> None:
        """After a save, the engine as it is now: new workers on the files as saved."""
        now = snapshot(self.source)
        if now == self.watched:
            return
        self.watched = now
        self.sandbox.close()
        self.submission = self.reopen()
        self.sandbox = Worlds(self.submission, self.limits, run_as=self.run_as)

    def serve(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> None:
        threading.Thread(target=self.serve, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.sandbox.close()


def run(submission: Path, label: str, *, open_browser: bool = True,
        run_as: str | None = "auto", source: Path | None = None,
        reopen: Callable[[], Path] | None = None) -> int:
    server = Server(submission, label, run_as=run_as, source=source, reopen=reopen)
    print(f"Serving the gradient view of {label} at {server.url} (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        server.close()
    return 0


def write_svg(submission: Path, out: Path, run_as: str | None = "auto") -> dict[str, Any]:
    sandbox = Worlds(submission, Limits(), run_as=run_as)
    try:
        data = observe(sandbox, neuron({}))
    finally:
        sandbox.close()
    if "svg" in data:
        Path(out).write_text(data["svg"], encoding="utf-8")
    return data
