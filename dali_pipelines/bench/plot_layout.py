"""The frame around a figure's panels: a title, a smaller subtitle and a legend below.

Each text is wrapped to the figure's width by measuring it with the figure's renderer (not by
counting characters), then the figure grows by the header's and the legend's height and the
panels keep theirs: nothing is clipped at any length of title, CPU name or description.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TITLE_PT, SUBTITLE_PT, LEGEND_PT = 11.0, 8.0, 8.0
#: Space around the header and the legend, in pixels.
PAD = 8.0
#: A legend entry's handle and its gaps, in pixels (at ``LEGEND_PT``).
_HANDLE_PX = 60.0
LEGEND_TITLE = "what each loader is"


def wrap(text: str, size: float, width: float, renderer: Any, weight: str = "normal") -> str:
    """``text`` broken at spaces into lines no wider than ``width`` pixels (a word longer than
    that stays whole, on a line of its own); its own line breaks are kept."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=size, weight=weight)
    if "\n" in text:
        return "\n".join(wrap(part, size, width, renderer, weight) for part in text.split("\n"))
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        measured, _height, _descent = renderer.get_text_width_height_descent(
            candidate, prop, ismath=False
        )
        if line and measured > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    return "\n".join(lines)


def frame(
    fig: Any,
    title: str,
    subtitle: str,
    handles: Sequence[Any],
    entries: Sequence[tuple[str, str]],
) -> None:
    """Put ``title``, ``subtitle`` above the panels of ``fig`` (constrained layout) and a
    legend of ``entries`` (label, description) with ``handles`` below them."""
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width - 2 * PAD
    head = fig.text(
        0.5, 1.0, wrap(title, TITLE_PT, width, renderer, "bold"),
        ha="center", va="top", fontsize=TITLE_PT, weight="bold",
    )  # fmt: skip
    sub = fig.text(
        0.5, 1.0, wrap(subtitle, SUBTITLE_PT, width, renderer),
        ha="center", va="top", fontsize=SUBTITLE_PT, color="#444444",
    )  # fmt: skip
    label_width = width - _HANDLE_PX
    labels = [wrap(f"{name}: {text}", LEGEND_PT, label_width, renderer) for name, text in entries]
    legend = fig.legend(
        handles, labels, loc="lower center", fontsize=LEGEND_PT,
        title=LEGEND_TITLE, title_fontsize=LEGEND_PT, alignment="left", frameon=False,
    )  # fmt: skip
    head_px = head.get_window_extent(renderer).height
    sub_px = sub.get_window_extent(renderer).height
    top_px = head_px + sub_px + 3 * PAD
    bottom_px = legend.get_window_extent(renderer).height + 2 * PAD
    inches_wide, inches_high = fig.get_size_inches()
    total = inches_high * fig.dpi + top_px + bottom_px
    fig.set_size_inches(inches_wide, total / fig.dpi)
    head.set_y(1 - PAD / total)
    sub.set_y(1 - (2 * PAD + head_px) / total)
    legend.set_bbox_to_anchor((0.5, PAD / total), transform=fig.transFigure)
    fig.get_layout_engine().set(rect=(0, bottom_px / total, 1, 1 - (top_px + bottom_px) / total))
