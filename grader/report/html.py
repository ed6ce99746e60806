"""The class report: one HTML page, whole in itself (inline SVG and CSS, no script, nothing to
load), with the spread of totals, each step's pass rate and mean, the mistakes to re-teach, the
slowest gradings and the similar pairs. Everything from a submission is escaped."""

from __future__ import annotations

import statistics
import time
from html import escape
from typing import Sequence
from urllib.parse import quote

from .. import __version__, steps
from ..similarity import REFERENCE, Pair
from . import svg
from .csv import STATUSES, status_of
from .stats import Graded, distribution, mistakes, slowest, step_stats

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #555; } nav a { margin-right: 1em; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; font-size: 13px; margin: 0; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: .5em; margin: .5em 0; }
.status-graded { color: #1a6b1a; } .status-other { color: #a33; font-weight: bold; }
details { margin: .25em 0; } summary { cursor: pointer; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _status(result_status: str) -> str:
    kind = "graded" if result_status == "graded" else "other"
    return f'<span class="status-{kind}">{_e(result_status)}</span>'


def _distribution(graded: Sequence[Graded]) -> list[str]:
    totals = [g.result.score for g in graded]
    bins = distribution(totals)
    out = ['<section id="distribution"><h2>Score distribution</h2>',
           svg.columns(bins, title=f"Students by total (of {steps.TOTAL_POINTS})", svg_id="histogram")]
    if totals:
        full = sum(1 for t in totals if t >= steps.TOTAL_POINTS)
        out.append(f"<p>Mean {statistics.mean(totals):.1f}, median "
                   f"{statistics.median(totals):g}, full marks {full} of {len(totals)}.</p>")
    out.append('<details><summary>as a table</summary><table id="distribution-table"><tr>'
               '<th>total</th><th class="num">students</th></tr>'
               + "".join(f'<tr><td>{_e(label)}</td><td class="num">{n}</td></tr>'
                         for label, n in bins) + "</table></details></section>")
    return out


def _steps(graded: Sequence[Graded]) -> list[str]:
    found = step_stats([g.result for g in graded])
    rates = [(s.id, s.passed, 1.0, f"{s.passed:.0%} full marks") for s in found]
    means = [(s.id, s.mean, s.points, f"{s.mean:.1f} / {s.points:g}") for s in found]
    out = ['<section id="steps"><h2>Steps</h2>',
           svg.rows(rates, title="Share of the class with all of a step's points",
                    svg_id="pass-rates"),
           svg.rows(means, title="Mean points per step", svg_id="mean-points"),
           '<table id="steps-table"><tr><th>step</th><th>title</th><th class="num">mean points'
           '</th><th class="num">full marks</th></tr>']
    for s in found:
        out.append(f"<tr><td>{_e(s.id)}{' (bonus)' if s.bonus else ''}</td><td>{_e(s.title)}"
                   f'</td><td class="num">{s.mean:.1f} / {s.points:g}</td>'
                   f'<td class="num">{s.passed:.0%}</td></tr>')
    out.append("</table></section>")
    return out


def _reteach(graded: Sequence[Graded], top: int) -> list[str]:
    out = ['<section id="reteach"><h2>What to re-teach: the mistakes named most often</h2>',
           "<p>Per step, the mistakes the grader named, counted once per student and only in "
           "steps the student attempted.</p>"]
    named = mistakes(graded)
    if not any(named.values()):
        out.append("<p>No mistake named.</p>")
    for step_id, found in named.items():
        if not found:
            continue
        out.append(f'<h3 id="reteach-{_e(step_id)}">{_e(step_id)}: '
                   f"{_e(steps.get(step_id).title)}</h3><ol>")
        for mistake in found[:top]:
            who = ", ".join(_e(w) for w in mistake.students)
            out.append(f'<li><span class="count">{len(mistake.students)}</span> '
                       f"student{'' if len(mistake.students) == 1 else 's'}: "
                       f"{_e(mistake.text)}<details><summary>who</summary>{who}</details></li>")
        out.append("</ol>")
    out.append("</section>")
    return out


def _slowest(graded: Sequence[Graded], top: int) -> list[str]:
    out = ['<section id="slowest"><h2>Slowest gradings</h2><table id="slowest-table"><tr>'
           '<th>student</th><th>id</th><th class="num">seconds</th><th>status</th></tr>']
    for g in slowest(graded, top):
        out.append(f"<tr><td>{_e(g.student)}</td><td>{_e(g.lms_id)}</td>"
                   f'<td class="num">{g.result.seconds:.1f}</td>'
                   f"<td>{_status(status_of(g.result)[0])}</td></tr>")
    out.append("</table></section>")
    return out


def _similar(graded: Sequence[Graded], pairs: Sequence[Pair], top: int) -> list[str]:
    who = {g.key: g.who for g in graded}
    out = ['<section id="similar"><h2>Similar code</h2>',
           "<p>Pairs whose own code (the kit's given code and stubs left out) shares nearly "
           "all its fingerprints, and copies of the reference solutions: a reason to look, "
           "not a verdict. The matching lines of each are below it.</p>"]
    if not pairs:
        out.append("<p>No pair flagged.</p></section>")
        return out
    out.append('<table id="similar-table"><tr><th>student</th><th>similar to</th>'
               '<th class="num">shared</th></tr>')
    for pair in pairs[:top]:
        other = "the reference solutions (solutions/)" if pair.b == REFERENCE else \
            who.get(pair.b, pair.b)
        regions = "".join(
            f'<div class="side"><div>{_e(r.a_file)}, lines {r.a_first}-{r.a_last}'
            f"<pre>{_e(r.a_text)}</pre></div><div>{_e(r.b_file)}, lines {r.b_first}-"
            f"{r.b_last}<pre>{_e(r.b_text)}</pre></div></div>" for r in pair.regions)
        out.append(f"<tr><td>{_e(who.get(pair.a, pair.a))}</td><td>{_e(other)}"
                   f"<details><summary>matching lines</summary>{regions}</details></td>"
                   f'<td class="num">{pair.score:.0%}</td></tr>')
    out.append("</table>")
    if len(pairs) > top:
        out.append(f"<p>And {len(pairs) - top} more pairs (the CSV of pairs has them all).</p>")
    out.append("</section>")
    return out


def _students(graded: Sequence[Graded], feedback_folder: str) -> list[str]:
    out = ['<section id="students"><h2>Every student</h2><table id="students-table"><tr>'
           '<th>student</th><th>id</th><th>status</th><th class="num">total</th>'
           '<th class="num">bonus</th><th class="num">seconds</th><th>feedback</th></tr>']
    for g in graded:
        link = quote(f"{feedback_folder}/{g.key}.md") if feedback_folder else ""
        status, reason = status_of(g.result)
        out.append(f"<tr><td>{_e(g.student)}</td><td>{_e(g.lms_id)}</td>"
                   f'<td>{_status(status)}{"<br>" + _e(reason[:200]) if reason else ""}</td>'
                   f'<td class="num">{g.result.score:g}</td>'
                   f'<td class="num">{g.result.bonus_score:g}</td>'
                   f'<td class="num">{g.result.seconds:.1f}</td>'
                   + (f'<td><a href="{_e(link)}">page</a></td>' if link else "<td></td>")
                   + "</tr>")
    out.append("</table></section>")
    return out


def class_page(graded: Sequence[Graded], *, pairs: Sequence[Pair] = (), title: str = "",
               seconds: float = 0.0, feedback_folder: str = "", notes: Sequence[str] = (),
               top: int = 10, when: float | None = None) -> str:
    """The whole page."""
    counts = {s: sum(1 for g in graded if status_of(g.result)[0] == s) for s in STATUSES}
    heading = title or "Class report"
    lines = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(heading)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{_e(heading)}: {len(graded)} submissions</h1>",
             f'<p class="meta">{_e(", ".join(f"{n} {s}" for s, n in counts.items() if n))}'
             f"; graded in {seconds:.1f} s by micrograd-kit {_e(__version__)}, "
             f"{_e(time.strftime('%Y-%m-%d %H:%M', time.localtime(when)))}.</p>"]
    lines += [f'<p class="note">{_e(note)}</p>' for note in notes]
    lines.append('<nav><a href="#distribution">distribution</a><a href="#steps">steps</a>'
                 '<a href="#reteach">what to re-teach</a><a href="#slowest">slowest</a>'
                 '<a href="#similar">similar code</a><a href="#students">every student</a>'
                 "</nav>")
    lines += _distribution(graded) + _steps(graded) + _reteach(graded, top)
    lines += _slowest(graded, top) + _similar(graded, pairs, 200)
    lines += _students(graded, feedback_folder)
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"
