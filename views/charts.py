"""Charts drawn on the server as inline SVG (#12 item 10): no CDN, no script, no library.

Each function returns markup ready for a template: labels and titles are escaped, shapes carry
presentation attributes only (no style= or script, so the Content-Security-Policy is kept),
and the drawing scales to its box (viewBox), so the same chart fills the screen and an A4 print.
"""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup, escape

# Colours that stay apart when printed in grey.
PALETTE = ("#2f6fb0", "#d9822b", "#3a9d5d", "#b03a48", "#7d5ba6", "#8c8c8c")
FONT = 'font-family="sans-serif" font-size="12"'


# Room above a chart's drawing for its title.
TITLE_H = 24


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    """The drawing under its visible title (the body is drawn from y = TITLE_H down)."""
    return Markup(
        '<svg class="desk-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="4" y="16" font-family="sans-serif" font-size="14" font-weight="bold">'
        f'{escape(title)}</text>{"".join(body)}</svg>')


def _short(label: str, limit: int = 8) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


def bar_chart(title: str, items: list[tuple[str, float | int | None]], *, unit: str = "",
              maximum: float | None = None) -> Markup:
    """Horizontal bars, one row per (label, value); None is drawn as no bar and "—"."""
    rows = max(len(items), 1)
    width, left, right, row_h, top = 480, 110, 60, 24, TITLE_H + 4
    height = top + 8 + rows * row_h
    values = [v for _label, v in items if v is not None]
    scale_max = maximum or max(values, default=0) or 1
    span = width - left - right
    body = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - 8}" stroke="#999"/>']
    if not items:
        body.append(f'<text x="{left + 8}" y="{top + 16}" {FONT} fill="#777">'
                    f'{escape(gettext("无数据"))}</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        body.append(f'<text x="{left - 6}" y="{y + 16}" {FONT} text-anchor="end">'
                    f'<title>{escape(label)}</title>{escape(_short(str(label)))}</text>')
        if value is None:
            body.append(f'<text x="{left + 6}" y="{y + 16}" {FONT} fill="#777">—</text>')
            continue
        bar = round(span * min(value, scale_max) / scale_max, 1)
        colour = PALETTE[0]
        body.append(f'<rect x="{left}" y="{y + 4}" width="{bar}" height="{row_h - 8}" '
                    f'fill="{colour}"/>')
        shown = f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"
        body.append(f'<text x="{left + bar + 4}" y="{y + 16}" {FONT}>{escape(shown)}</text>')
    return _svg(width, height, title, body)


def line_chart(title: str, labels: list[str], series: list[tuple[str, list[float | None]]],
               *, unit: str = "%", maximum: float = 100) -> Markup:
    """Lines over the months (x) for each (name, values); a None value breaks the line."""
    width, height, left, right, top, bottom = 480, 254, 40, 32, TITLE_H + 28, 30
    span_x, span_y = width - left - right, height - top - bottom
    step = span_x / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    def y(value: float) -> float:
        return round(top + span_y * (1 - min(value, maximum) / maximum), 1)

    body = []
    for tick in range(0, 101, 25):
        level = maximum * tick / 100
        body.append(f'<line x1="{left}" y1="{y(level)}" x2="{width - right}" y2="{y(level)}" '
                    'stroke="#ddd"/>')
        body.append(f'<text x="{left - 4}" y="{y(level) + 4}" {FONT} text-anchor="end">'
                    f'{level:g}{escape(unit)}</text>')
    for i, label in enumerate(labels):
        body.append(f'<text x="{x(i)}" y="{height - 10}" {FONT} text-anchor="middle">'
                    f'{escape(label)}</text>')
    for n, (name, values) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        legend_y = TITLE_H + 4
        body.append(f'<rect x="{left + n * 130}" y="{legend_y}" width="12" height="12" '
                    f'fill="{colour}"/><text x="{left + n * 130 + 16}" y="{legend_y + 10}" '
                    f'{FONT}>{escape(name)}</text>')
        runs: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{x(i)},{y(value)}")
            body.append(f'<circle cx="{x(i)}" cy="{y(value)}" r="3" fill="{colour}">'
                        f'<title>{escape(labels[i])} {escape(name)} {value:g}{escape(unit)}'
                        '</title></circle>')
        body.extend(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    'stroke-width="2"/>' for run in runs if len(run) > 1)
    return _svg(width, height, title, body)
