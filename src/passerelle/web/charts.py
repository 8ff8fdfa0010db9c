"""Home page pictures drawn server-side as inline SVG (no JavaScript library)."""

from __future__ import annotations

from markupsafe import Markup, escape

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def activity_svg(
    series: dict[str, dict[str, int]], months: list[str], *, width: int = 640, height: int = 200
) -> Markup:
    """One line per space (title -> month -> count), months along the x axis."""
    if not months or not series:
        return Markup("")
    top = max((n for counts in series.values() for n in counts.values()), default=1) or 1
    left, bottom, pad = 40, 20, 10
    plot_w, plot_h = width - left - pad, height - bottom - pad
    step = plot_w / max(1, len(months) - 1)

    def xy(i: int, n: int) -> str:
        x = left + (i * step if len(months) > 1 else plot_w / 2)  # one month: in the middle
        return f"{x:.1f},{pad + plot_h - n / top * plot_h:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 20 * len(series)}"'
        f' width="{width}" role="img" class="activity-chart">',
        f'<line x1="{left}" y1="{pad + plot_h}" x2="{width - pad}" y2="{pad + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{pad + 8}" text-anchor="end" font-size="10">{top}</text>',
        f'<text x="{left}" y="{height - 4}" font-size="10">{escape(months[0])}</text>',
        f'<text x="{width - pad}" y="{height - 4}" font-size="10" text-anchor="end">{escape(months[-1])}</text>',
    ]
    for k, (title, counts) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(xy(i, counts.get(m, 0)) for i, m in enumerate(months))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        if len(months) == 1:  # a line of one point draws nothing: a dot instead
            x, y_ = xy(0, counts.get(months[0], 0)).split(",")
            parts.append(f'<circle cx="{x}" cy="{y_}" r="4" fill="{colour}"/>')
        y = height + 14 + 20 * k
        parts.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + 16}" y="{y}" font-size="12">{escape(title)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
