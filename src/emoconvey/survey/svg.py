"""Pictorial manikin anchors for the valence and arousal scales, drawn as inline SVG.

Our own drawings in the manner of the Self-Assessment Manikin (SAM; Bradley & Lang,
1994, *J. Behav. Ther. Exp. Psychiatry* 25(1), 49-59): five figures per scale, placed
at scale points 1, 3, 5, 7 and 9, each differing visibly from its neighbour even at
phone width (the figures are drawn with thick strokes on a 100 x 126 grid and shown
about 60 px wide):

- valence: the mouth goes from a deep frown to a broad open smile, the eyebrows from
  raised-inner (sad) to relaxed and the eyes from round to smiling arcs; the face is
  tinted from cool grey-blue to warm yellow (a cue besides shape, never the only one);
- arousal: from a slumped figure with closed eyes to one with wide-open eyes, and an
  "explosion" on the body (SAM's symbol of arousal) growing from none to one larger
  than the torso, with motion lines around the figure at the top levels.

The figures are decorative (``aria-hidden``): each radio button carries its number and,
at the ends, its verbal anchor as its accessible name.
"""

from __future__ import annotations

import math

__all__ = ["LEVELS", "manikin", "manikin_row"]

LEVELS = 5
"""Figures per scale (scale points 1, 3, 5, 7, 9)."""


def _star(cx: float, cy: float, r_out: float, r_in: float, n: int, turn: float = 0) -> str:
    pts = []
    for i in range(2 * n):
        r = r_out if i % 2 == 0 else r_in
        ang = math.pi * i / n + turn
        pts.append(f"{cx + r * math.sin(ang):.1f},{cy - r * math.cos(ang):.1f}")
    return " ".join(pts)


def _valence(level: int) -> list[str]:
    parts = [
        '<path class="body" d="M34 66 Q50 60 66 66 L74 116 L26 116 Z"/>',
        f'<circle class="head face-{level}" cx="50" cy="36" r="27"/>',  # tint in survey.css
    ]
    # eyebrows: inner ends raised when sad, flat when neutral, arched when happy
    tilt = (2 - level) * 3.0
    parts.append(f'<path class="line thin" d="M32 {22 + tilt:.1f} L44 {22 - tilt:.1f} '
                 f'M56 {22 - tilt:.1f} L68 {22 + tilt:.1f}"/>')
    if level == 4:  # smiling eyes
        parts.append('<path class="line" d="M33 33 Q38 27 43 33 M57 33 Q62 27 67 33"/>')
    else:
        parts.append('<circle class="eye" cx="38" cy="31" r="3.4"/>'
                     '<circle class="eye" cx="62" cy="31" r="3.4"/>')
    bend = (level - 2) * 7.0  # mouth: -14 (deep frown) .. +14 (broad smile)
    y = 48 - bend / 3
    if level == 4:  # open smile
        parts.append(f'<path class="mouth" d="M34 {y:.1f} Q50 {y + 2 * bend:.1f} 66 {y:.1f} '
                     f'Q50 {y + bend * 0.6:.1f} 34 {y:.1f} Z"/>')
    else:
        parts.append(f'<path class="line" d="M36 {y:.1f} Q50 {y + 2 * bend:.1f} 64 {y:.1f}"/>')
    return parts


def _arousal(level: int) -> list[str]:
    parts = []
    if level >= 3:  # motion lines
        n = 3 if level == 3 else 5
        for i in range(n):
            a = -0.9 + 1.8 * i / max(n - 1, 1)
            x1, y1 = 50 + 33 * math.sin(a), 36 - 33 * math.cos(a)
            x2, y2 = 50 + 41 * math.sin(a), 36 - 41 * math.cos(a)
            parts.append(f'<path class="line thin" d="M{x1:.1f} {y1:.1f} L{x2:.1f} {y2:.1f}"/>')
    slump = (4 - level) * 1.5 if level < 2 else 0
    parts.append(f'<path class="body" d="M34 {66 + slump:.1f} Q50 {60 + slump:.1f} '
                 f'66 {66 + slump:.1f} L74 116 L26 116 Z"/>')
    if level > 0:  # SAM's explosion on the body, growing with arousal
        r = 6 + 6.5 * level
        parts.append(f'<polygon class="burst" points="{_star(50, 90, r, r * 0.55, 7 + level)}"/>')
    parts.append(f'<circle class="head" cx="50" cy="{36 + slump:.1f}" r="27"/>')
    ey = 31 + slump
    if level == 0:  # asleep: closed eyes and a small "z"
        parts.append(f'<path class="line" d="M32 {ey:.1f} Q38 {ey + 4:.1f} 44 {ey:.1f} '
                     f'M56 {ey:.1f} Q62 {ey + 4:.1f} 68 {ey:.1f}"/>')
        parts.append('<path class="line thin" d="M78 8 h8 l-8 9 h8"/>')
    else:
        r = 1.8 + 1.5 * level  # eyes open wider
        parts.append(f'<circle class="eye" cx="38" cy="{ey:.1f}" r="{r:.1f}"/>'
                     f'<circle class="eye" cx="62" cy="{ey:.1f}" r="{r:.1f}"/>')
    mouth = 1.0 + 2.2 * level
    parts.append(f'<ellipse class="mouth" cx="50" cy="{49 + slump:.1f}" rx="{4 + level:.1f}" '
                 f'ry="{mouth / 2 + 0.8:.1f}"/>')
    return parts


def manikin(kind: str, level: int) -> str:
    """One manikin as an SVG element.

    Parameters
    ----------
    kind : {"valence", "arousal"}
    level : int
        0 (lowest: very unpleasant / very relaxed) to 4 (highest); clipped to that range.
    """
    if kind not in ("valence", "arousal"):
        raise ValueError(f"kind: expected 'valence' or 'arousal', got {kind!r}")
    level = max(0, min(LEVELS - 1, int(level)))
    body = _valence(level) if kind == "valence" else _arousal(level)
    return (f'<svg class="manikin manikin-{kind} level-{level}" viewBox="0 -6 100 126" '
            'aria-hidden="true" focusable="false">' + "".join(body) + "</svg>")


def manikin_row(kind: str) -> list[str]:
    """The five manikins of a scale, lowest first."""
    return [manikin(kind, i) for i in range(LEVELS)]
