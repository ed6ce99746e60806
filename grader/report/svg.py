"""Plots drawn as inline SVG text: bar charts for the class report, with nothing to load (no
script, no font, no network), every label escaped."""

from __future__ import annotations

from html import escape
from typing import Sequence

INK, BAR, ALT, GRID = "#222", "#3b6ea8", "#e0a030", "#d8d8d8"


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 12,
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{INK}"{extra}>{escape(text)}</text>')


def columns(bins: Sequence[tuple[str, int]], *, title: str, width: int = 640,
            height: int = 260, svg_id: str = "") -> str:
    """A vertical bar per bin (a label and a count), the count above each bar."""
    left, right, top, bottom = 40, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    most = max((n for _label, n in bins), default=0) or 1
    step = plot_w / max(len(bins), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img"'
             + (f' id="{escape(svg_id)}"' if svg_id else "") + f'><title>{escape(title)}</title>',
             _text(width / 2, 18, title, size=14)]
    for k in range(5):
        y = top + plot_h * k / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, f"{most * (4 - k) / 4:g}", anchor="end", size=10))
    for k, (label, n) in enumerate(bins):
        h = plot_h * n / most
        x = left + k * step + step * 0.1
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                     f'width="{step * 0.8:.1f}" height="{h:.1f}" fill="{BAR}" '
                     f'data-count="{n}"><title>{escape(label)}: {n}</title></rect>')
        parts.append(_text(x + step * 0.4, top + plot_h - h - 4, str(n), size=11))
        parts.append(_text(x + step * 0.4, top + plot_h + 16, label, size=11))
    parts.append("</svg>")
    return "".join(parts)


def rows(items: Sequence[tuple[str, float, float, str]], *, title: str, width: int = 640,
         svg_id: str = "") -> str:
    """A horizontal bar per item: (label, value, most it can be, text shown after the bar)."""
    left, right, top, row_h = 110, 150, 30, 24
    height = top + row_h * len(items) + 10
    plot_w = width - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img"'
             + (f' id="{escape(svg_id)}"' if svg_id else "") + f'><title>{escape(title)}</title>',
             _text(width / 2, 18, title, size=14)]
    for k, (label, value, most, shown) in enumerate(items):
        y = top + k * row_h
        share = max(0.0, min(1.0, value / most)) if most else 0.0
        parts.append(_text(left - 8, y + 16, label, anchor="end"))
        parts.append(f'<rect x="{left}" y="{y + 4:.1f}" width="{plot_w}" height="{row_h - 8}" '
                     f'fill="{GRID}"/>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + 4:.1f}" '
                     f'width="{plot_w * share:.1f}" height="{row_h - 8}" '
                     f'fill="{BAR if share >= 0.5 else ALT}" data-value="{value:g}">'
                     f'<title>{escape(label)}: {escape(shown)}</title></rect>')
        parts.append(_text(left + plot_w + 8, y + 16, shown, anchor="start"))
    parts.append("</svg>")
    return "".join(parts)
