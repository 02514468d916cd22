"""The SAM-style manikins: every figure differs from its neighbour in the cue that the
scale is about (valence: mouth, brows, eyes; arousal: eyes, burst, motion lines)."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from emoconvey.survey.svg import LEVELS, manikin, manikin_row


def mouth_bend(svg: str) -> float:
    """Vertical offset of the mouth's control point from its ends (+: smile)."""
    m = re.search(r'class="(?:line|mouth)" d="M3[46] ([0-9.]+) Q50 ([0-9.]+) 6[46] ', svg)
    return float(m.group(2)) - float(m.group(1))


def burst_radius(svg: str) -> float:
    m = re.search(r'class="burst" points="([^"]+)"', svg)
    if not m:
        return 0.0
    pts = [tuple(map(float, p.split(","))) for p in m.group(1).split()]
    return max(((x - 50) ** 2 + (y - 90) ** 2) ** 0.5 for x, y in pts)


def eye_radius(svg: str) -> float:
    m = re.search(r'class="eye" cx="38" cy="[0-9.]+" r="([0-9.]+)"', svg)
    return float(m.group(1)) if m else 0.0


def test_valence_figures_go_from_frown_to_smile():
    row = manikin_row("valence")
    assert len(row) == LEVELS and len(set(row)) == LEVELS
    bends = [mouth_bend(svg) for svg in row]
    assert bends[0] < -20 and bends[-1] > 20  # deep frown, broad smile
    assert all(b - a >= 10 for a, b in pairwise(bends))
    assert [f"face-{i}" in svg for i, svg in enumerate(row)] == [True] * LEVELS
    assert 'class="mouth"' in row[-1]  # open smile at the top


def test_arousal_figures_grow_their_explosion_and_open_their_eyes():
    row = manikin_row("arousal")
    assert len(set(row)) == LEVELS
    bursts = [burst_radius(svg) for svg in row]
    assert bursts[0] == 0 and all(b - a >= 6 for a, b in pairwise(bursts))
    eyes = [eye_radius(svg) for svg in row]
    assert eyes[0] == 0  # asleep: closed eyes
    assert all(b > a for a, b in pairwise(eyes))
    assert [svg.count("line thin") for svg in row][3:] == [3, 5]  # motion lines


def test_figures_are_decorative_and_input_is_checked():
    svg = manikin("valence", 99)
    assert svg == manikin("valence", 4) and 'aria-hidden="true"' in svg
    assert "style=" not in svg and "<script" not in svg  # nothing the CSP would block
    with pytest.raises(ValueError, match="kind"):
        manikin("dominance", 1)
