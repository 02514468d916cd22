"""Pictorial manikin anchors for the valence and arousal scales, drawn as inline SVG.

Our own drawings in the spirit of the Self-Assessment Manikin (Bradley & Lang, 1994):
five figures per scale, at scale points 1, 3, 5, 7 and 9. On the valence scale the
mouth goes from a frown to a smile; on the arousal scale the eyes open and a burst
behind the figure grows.
"""

from __future__ import annotations

import math

__all__ = ["manikin", "manikin_row"]


def _burst(level: int) -> str:
    if level == 0:
        return ""
    r_out, r_in, n = 12 + 6 * level, 8 + 4 * level, 12
    pts = []
    for i in range(2 * n):
        r = r_out if i % 2 == 0 else r_in
        ang = math.pi * i / n
        pts.append(f"{40 + r * math.sin(ang):.1f},{48 - r * math.cos(ang):.1f}")
    return f'<polygon class="burst" points="{" ".join(pts)}"/>'


def manikin(kind: str, level: int) -> str:
    """One manikin as an SVG element.

    Parameters
    ----------
    kind : {"valence", "arousal"}
    level : int
        0 (lowest: very unpleasant / very relaxed) to 4 (highest).
    """
    level = max(0, min(4, int(level)))
    parts = ['<svg class="manikin" viewBox="0 0 80 96" aria-hidden="true" focusable="false">']
    if kind == "arousal":
        parts.append(_burst(level))
    parts.append('<path class="body" d="M28 44 L52 44 L62 92 L18 92 Z"/>')
    parts.append('<circle class="head" cx="40" cy="26" r="17"/>')
    if kind == "arousal" and level == 0:
        parts.append('<path class="line" d="M31 23 h6 M43 23 h6"/>')
    else:
        eye = 2.2 if kind == "valence" else 1.6 + 0.6 * level
        parts.append(f'<circle class="eye" cx="34" cy="23" r="{eye:.1f}"/>'
                     f'<circle class="eye" cx="46" cy="23" r="{eye:.1f}"/>')
    if kind == "valence":
        bend = (level - 2) * 4
        parts.append(f'<path class="line" d="M32 {34 - bend / 2:.1f} Q40 {34 + bend:.1f} '
                     f'48 {34 - bend / 2:.1f}"/>')
    else:
        width = 2 + level * 1.5
        parts.append(f'<ellipse class="mouth" cx="40" cy="34" rx="4" ry="{width / 2:.1f}"/>')
    parts.append("</svg>")
    return "".join(parts)


def manikin_row(kind: str) -> list[str]:
    """The five manikins of a scale, lowest first."""
    return [manikin(kind, i) for i in range(5)]
