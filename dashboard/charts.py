"""Small server-side SVG charts: no JavaScript, no third-party files, readable when printed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from config.formats import format_money

Number = int | float | Decimal

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 36
INK, MUTED, BAR, GRID = "#1f2937", "#6b7280", "#2563eb", "#e5e7eb"


def _scale(value: float) -> tuple[float, int]:
    """A round top for the y axis and its number of gridline steps (at most 5, each 1, 2 or 5
    times a power of ten), so tick labels are whole, readable numbers."""
    if value <= 0:
        return 1.0, 1
    power = 10 ** math.floor(math.log10(value / 5)) if value >= 5 else 1
    for step in (power, 2 * power, 5 * power, 10 * power, 20 * power, 50 * power):
        steps = math.ceil(value / step)
        if steps <= 5:
            return float(step * steps), steps
    return float(value), 5


def _frame(title: str, body: str, *, height: int = HEIGHT) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        "<title>{t}</title>{body}</svg>",
        w=WIDTH,
        h=height,
        t=title,
        body=mark_safe(body),  # noqa: S308 - built from escaped parts below
    )


def value_label(value: Number, unit: str = "") -> str:
    """A bar's own figure: money with its currency, counts with separators."""
    if isinstance(value, Decimal):
        return format_money(value)
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}".removesuffix(".0")
    return f"{text}{unit}"


def tick_label(value: float) -> str:
    """An axis label that fits the axis' margin: "950", "2,500", "40k", "1.5M"."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (10_000, "k")):
        if abs(value) >= size:
            divisor = size if suffix != "k" else 1_000
            short = f"{value / divisor:.1f}".removesuffix(".0")
            return f"{short}{suffix}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _axis(top: float, steps: int) -> str:
    parts = []
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    for i in range(steps + 1):
        value = top * i / steps
        y = PAD_TOP + plot_h - plot_h * i / steps
        label = tick_label(value)
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}">{label}</text>'
        )
    return "".join(parts)


def bar_chart(title: str, rows: Sequence[tuple[str, Number]], *, unit: str = "") -> SafeString:
    """Vertical bars, one per (label, value)."""
    if not rows:
        return _frame(title, f'<text x="20" y="40" fill="{MUTED}">No data yet</text>', height=60)
    top, steps = _scale(float(max(value for _, value in rows)))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / len(rows)
    bar_w = max(4.0, slot * 0.7)
    parts = [_axis(top, steps)]
    for i, (label, value) in enumerate(rows):
        h = plot_h * float(value) / top
        x = PAD_LEFT + slot * i + (slot - bar_w) / 2
        y = PAD_TOP + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{BAR}" '
            f'rx="2"><title>{escape(label)}: {escape(value_label(value, unit))}</title></rect>'
        )
        if len(rows) <= 16:
            short = escape(label if len(label) <= 12 else label[:11] + "…")
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
                f'text-anchor="middle" font-size="11" fill="{INK}">{short}</text>'
            )
    return _frame(title, "".join(parts))


def hbar_chart(title: str, rows: Sequence[tuple[str, Number]], *, unit: str = "") -> SafeString:
    """Horizontal bars with their labels: for rankings such as top products."""
    if not rows:
        return _frame(title, f'<text x="20" y="40" fill="{MUTED}">No data yet</text>', height=60)
    row_h, label_w = 24, 200
    height = PAD_TOP + row_h * len(rows) + 8
    top = float(max(value for _, value in rows)) or 1.0
    plot_w = WIDTH - label_w - 60
    parts = []
    for i, (label, value) in enumerate(rows):
        y = PAD_TOP + row_h * i
        w = plot_w * float(value) / top
        short = escape(label if len(label) <= 28 else label[:27] + "…")
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{short}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
            f'fill="{BAR}" rx="2"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="{INK}">'
            f"{escape(value_label(value, unit))}</text>"
        )
    return _frame(title, "".join(parts), height=height)


def line_chart(title: str, points: Sequence[tuple[str, Number]], *, unit: str = "") -> SafeString:
    """A line over time: (label, value) in order; labels shown at the ends and middle."""
    if not points:
        return _frame(title, f'<text x="20" y="40" fill="{MUTED}">No data yet</text>', height=60)
    top, steps = _scale(float(max(value for _, value in points)))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(1, len(points) - 1)
    coords = [
        (PAD_LEFT + step * i, PAD_TOP + plot_h - plot_h * float(value) / top)
        for i, (_, value) in enumerate(points)
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
    area = (
        path + f" L{coords[-1][0]:.1f},{PAD_TOP + plot_h} L{coords[0][0]:.1f},{PAD_TOP + plot_h} Z"
    )
    parts = [
        _axis(top, steps),
        f'<path d="{area}" fill="{BAR}" fill-opacity="0.12"/>',
        f'<path d="{path}" fill="none" stroke="{BAR}" stroke-width="2"/>',
    ]
    last = len(points) - 1
    for index in sorted({0, len(points) // 2, last}):
        x, _ = coords[index]
        anchor = "start" if index == 0 else "end" if index == last else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="{anchor}" '
            f'font-size="11" fill="{INK}">{escape(points[index][0])}</text>'
        )
    last_label, last_value = points[-1]
    latest = escape(value_label(last_value, unit))
    parts.append(f"<desc>Latest ({escape(last_label)}): {latest}</desc>")
    return _frame(title, "".join(parts))
