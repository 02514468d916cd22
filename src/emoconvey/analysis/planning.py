"""Study planner: how many listeners a listening test needs, by simulation.

A study has *K* systems, *M* intents and *N* clips per (system, intent) pair; each
participant rates ``clips_per_participant`` clips, at most one per pair. For a number of
recruited participants *P*, each replicate simulates a whole study:

1. **Assignment** by the survey server's rule (:mod:`emoconvey.survey.assignment`:
   least-loaded clips first, one per pair, pairs ordered by their least load, then mean
   load, ties at random), participant after participant. That module needs the survey
   extra (SQLAlchemy), so the rule is re-implemented here as a vectorised pure function,
   :func:`choose_pairs`, and the tests check it against
   :func:`emoconvey.survey.assignment.choose_clips`. With probability ``dropout`` a
   participant leaves after a uniformly drawn number of clips; under the server's
   just-in-time assignment they will have rated the least-loaded of their pairs.
2. **Ratings** of the deviation from the intent, from the variance components of the
   rating-level mixed model (:mod:`emoconvey.analysis.mixed`),

   .. math:: y_{lc} = \\mu_{s(c)} + \\tau_{i(c)} + u_l + v_c + \\varepsilon_{lc},

   with :math:`u_l \\sim N(0, \\sigma_L^2)`, :math:`v_c \\sim N(0, \\sigma_C^2)`,
   :math:`\\varepsilon \\sim N(0, \\sigma^2)`, intent effects
   :math:`\\tau_i \\sim N(0, \\sigma_I^2)` drawn per replicate, and system means 0 except
   the first system, shifted by ``effect``. By default the components are those of the
   bundled AImoclips data (or of a pilot study), on the axis with the larger total
   variance. Ratings are Gaussian, not rounded to the 9-point scale.
3. **Analysis** as in the report: clips with fewer than ``min_ratings`` ratings are
   excluded, clip means compared by Tukey HSD (``posthoc="adjusted"``, the default of
   both the planner and the report, :data:`~emoconvey.analysis.posthoc.DEFAULT_POSTHOC`:
   deviation ~ system + intent, marginal means; ``"oneway"``: deviation ~ system, as the
   AImoclips paper). The replicate *detects* the effect when the pair
   (first system, second system) is significant at family-wise ``alpha``: the
   statistic of :func:`emoconvey.analysis.posthoc.tukey_hsd` exceeds the studentized
   range quantile (equivalent to ``p_adj < alpha``; the tests check the decisions
   against ``tukey_hsd`` itself).

A study with *p* participants is the first *p* participants of a larger one (they arrive
in order), so each replicate simulates the largest study once and analyses its prefixes;
power at each *p* is the share of replicates that detect the effect (Monte-Carlo standard
error :math:`\\sqrt{\\hat\\pi(1-\\hat\\pi)/R}`); the answer is read off a monotone
(isotonic) fit of that curve. Replicates run in parallel processes,
each from its own seed (``numpy.random.SeedSequence(seed).spawn``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import studentized_range

from emoconvey._validation import check_choice, check_positive_int
from emoconvey.analysis.posthoc import DEFAULT_POSTHOC, studentized_range_df
from emoconvey.errors import EmoconveyError

__all__ = [
    "POWER_CURVE_COLUMNS",
    "StudyPlan",
    "VarianceComponents",
    "choose_pairs",
    "isotonic",
    "plan_study",
    "simulate_power",
    "variance_components",
]

log = logging.getLogger(__name__)

_BATCHES = 16

POWER_CURVE_COLUMNS: tuple[str, ...] = (
    "participants", "ratings_per_clip", "power", "se", "power_monotone",
)
"""Columns of :attr:`StudyPlan.power_curve`."""


@dataclass(frozen=True)
class VarianceComponents:
    """Variances (scale points squared) of the rating-level model, one axis.

    ``intent`` is the variance of the intent effects (spread of the intents' marginal
    mean deviations), which the one-way analysis leaves in its error term.
    """

    listener: float
    clip: float
    residual: float
    intent: float
    axis: str = "valence"
    source: str = ""


@dataclass(frozen=True)
class StudyPlan:
    """Answer of :func:`plan_study`.

    Attributes
    ----------
    participants : int or None
        Participants to recruit (drop-outs included): the first simulated number whose
        monotone (isotonic) fit of the power curve reaches the target; ``None`` if not
        reached within the simulated range.
    ratings_per_clip : float or None
        Expected mean ratings per clip with that many participants.
    power_curve : DataFrame
        :data:`POWER_CURVE_COLUMNS`, one row per simulated number of participants.
    design : dict
        The inputs.
    components : VarianceComponents
    """

    participants: int | None
    ratings_per_clip: float | None
    power_curve: pd.DataFrame
    design: dict[str, object]
    components: VarianceComponents = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def analysis(self) -> str:
        """The analysis planned for, in words: Tukey model and axis of the components."""
        posthoc = str(self.design.get("posthoc", DEFAULT_POSTHOC))
        model = {"adjusted": "deviation ~ system + intent, marginal means",
                 "oneway": "deviation ~ system"}.get(posthoc, posthoc)
        axis = self.components.axis if self.components is not None else "?"
        return f"Tukey HSD, posthoc={posthoc!r} ({model}), {axis} variance components"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict (``participants``, ``ratings_per_clip``, ``power_curve``
        as a list of ``{participants, ratings_per_clip, power, se, power_monotone}``,
        ``design``, ``analysis`` (:attr:`analysis`), ``components``)."""
        return {
            "participants": self.participants,
            "ratings_per_clip": self.ratings_per_clip,
            "power_curve": [
                {"participants": int(r.participants),
                 "ratings_per_clip": float(r.ratings_per_clip),
                 "power": float(r.power), "se": float(r.se),
                 "power_monotone": float(r.power_monotone)}
                for r in self.power_curve.itertuples(index=False)
            ],
            "design": dict(self.design),
            "analysis": self.analysis,
            "components": asdict(self.components) if self.components is not None else None,
        }


def variance_components(
    dataset: object = None, *, axis: str | None = None, posthoc: str = DEFAULT_POSTHOC,
    min_ratings: int = 4,
) -> VarianceComponents:
    """Variance components of a pilot study (default: the bundled AImoclips data).

    Parameters
    ----------
    dataset : Dataset, optional
        Pilot data; default :func:`emoconvey.data.load_aimoclips`.
    axis : {"valence", "arousal"}, optional
        Default: the axis that needs the most participants under ``posthoc``, i.e. whose
        clip means have the larger error variance in that analysis,

        .. math:: \\sigma_C^2 + (\\sigma_L^2 + \\sigma^2)/r + [\\text{oneway}]\\,
            \\sigma_I^2,

        at :math:`r` = ``min_ratings`` ratings per clip and as :math:`r \\to \\infty`
        (it is linear in :math:`1/r`, so an axis larger at both is larger at every
        :math:`r`; if the order flips, the one larger at ``min_ratings``). The intents'
        spread :math:`\\sigma_I^2` counts only for ``"oneway"``, whose error term keeps
        it: on AImoclips that is valence (4.22) for ``"oneway"`` and arousal for
        ``"adjusted"``.
    posthoc : {"adjusted", "oneway"}, default "adjusted"
        The analysis being planned for.
    min_ratings : int, default 4

    Returns
    -------
    VarianceComponents
    """
    from emoconvey.analysis.mixed import mixed_model
    from emoconvey.data import load_aimoclips

    posthoc = check_choice(posthoc, ("adjusted", "oneway"), name="posthoc")
    ds = load_aimoclips() if dataset is None else dataset
    _, var = mixed_model(
        ds.ratings, ds.intents, max_levels=10**9  # type: ignore[attr-defined]
    )
    if var.empty:
        raise EmoconveyError("pilot: the mixed model could not be fitted to the pilot data")
    var = var.set_index("axis")
    clips = ds.clips  # type: ignore[attr-defined]
    intent_var = {}
    for a in var.index:
        # intent effects: spread of the intents' mean deviations in the pilot (clip level)
        means = (clips[a] - clips[f"norm_{a}"]).groupby(clips["intent"]).mean()
        intent_var[a] = float(means.var(ddof=1)) if len(means) > 1 else 0.0
    if axis is None:
        fixed = var["clip"] + (pd.Series(intent_var) if posthoc == "oneway" else 0.0)
        at_min = fixed + (var["listener"] + var["residual"]) / max(min_ratings, 1)
        axis = str(at_min.idxmax())
    axis = check_choice(axis, tuple(var.index), name="axis")
    row = var.loc[axis]
    return VarianceComponents(
        listener=float(row["listener"]), clip=float(row["clip"]),
        residual=float(row["residual"]), intent=intent_var[axis], axis=axis,
        source=str(getattr(ds, "source", "")),
    )


def choose_pairs(
    loads: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The survey's assignment rule for one participant (pure, vectorised).

    Parameters
    ----------
    loads : array of int, shape (pairs, clips_per_pair)
        Current ratings of every clip.
    n : int
        Clips to assign (at most one per pair).
    rng : numpy Generator

    Returns
    -------
    pairs, clips : arrays of int, shape (n,)
        Chosen pairs, least loaded first (the order in which just-in-time assignment
        serves them), and the chosen clip within each pair.
    """
    n_pairs = loads.shape[0]
    low = loads.min(axis=1)
    # a random clip among the pair's least-loaded ones
    noise = rng.random(loads.shape)
    pick = np.argmax(np.where(loads == low[:, None], noise, -1.0), axis=1)
    mean = loads.mean(axis=1)
    order = np.lexsort((rng.random(n_pairs), mean, low))[:n]
    return order, pick[order]


def _simulate_batch(args: tuple) -> np.ndarray:
    """Detections (bool, replicates x grid) of one batch of replicates."""
    (seed, n_rep, k, m, n_clip, per_part, dropout, grid, comp, effect, _alpha,
     min_ratings, posthoc, crit) = args
    rng = np.random.default_rng(seed)
    n_pairs = k * m
    p_max = int(grid[-1])
    pair_system = np.repeat(np.arange(k), m)  # pair = system * m + intent
    pair_intent = np.tile(np.arange(m), k)
    clip_system = np.repeat(pair_system, n_clip)
    clip_intent = np.repeat(pair_intent, n_clip)
    n_clips = n_pairs * n_clip
    inv_df, crit_v = crit

    def q_crit(groups: int, df: float) -> float:
        return float(np.interp(1.0 / df, inv_df, crit_v))

    out = np.zeros((n_rep, len(grid)), dtype=bool)
    sys_mean = np.zeros(k)
    sys_mean[0] = effect
    for r in range(n_rep):
        loads = np.zeros((n_pairs, n_clip), dtype=np.int64)
        lis_list, clip_list = [], []
        for p in range(p_max):
            pairs, picks = choose_pairs(loads, per_part, rng)
            if dropout > 0 and rng.random() < dropout:
                kept = int(rng.integers(0, per_part))
                pairs, picks = pairs[:kept], picks[:kept]
            loads[pairs, picks] += 1
            clip_list.append(pairs * n_clip + picks)
            lis_list.append(np.full(len(pairs), p))
        clip_of = np.concatenate(clip_list)
        lis_of = np.concatenate(lis_list)
        u = rng.normal(0.0, math.sqrt(comp["listener"]), p_max)
        v = rng.normal(0.0, math.sqrt(comp["clip"]), n_clips)
        tau = rng.normal(0.0, math.sqrt(comp["intent"]), m)
        y = (sys_mean[clip_system[clip_of]] + tau[clip_intent[clip_of]] + u[lis_of]
             + v[clip_of] + rng.normal(0.0, math.sqrt(comp["residual"]), len(clip_of)))
        ends = np.searchsorted(lis_of, grid, side="left")
        for g, end in enumerate(ends):
            out[r, g] = _detects(y[:end], clip_of[:end], n_clips, clip_system, clip_intent,
                                 k, m, min_ratings, posthoc, q_crit)
    return out


def _detects(
    y: np.ndarray, clip_of: np.ndarray, n_clips: int, clip_system: np.ndarray,
    clip_intent: np.ndarray, k: int, m: int, min_ratings: int, posthoc: str,
    q_crit: Callable[[int, float], float],
) -> bool:
    """Tukey decision for systems 0 vs 1 on the clip means of one simulated study."""
    count = np.bincount(clip_of, minlength=n_clips)
    keep = count >= min_ratings
    if not keep.any():
        return False
    means = np.bincount(clip_of, weights=y, minlength=n_clips)[keep] / count[keep]
    s = clip_system[keep]
    n_sys = np.bincount(s, minlength=k)
    if n_sys[0] == 0 or n_sys[1] == 0:
        return False
    present = int((n_sys > 0).sum())
    if posthoc == "oneway":
        df = len(means) - present
        if df <= 0:
            return False
        sys_means = np.bincount(s, weights=means, minlength=k) / np.maximum(n_sys, 1)
        resid = means - sys_means[s]
        mse = float(resid @ resid) / df
        diff = sys_means[1] - sys_means[0]
        se = math.sqrt(mse / 2.0 * (1.0 / n_sys[0] + 1.0 / n_sys[1]))
    else:
        if n_sys.min() == 0:
            return False
        it = clip_intent[keep]
        x = np.zeros((len(means), k + m - 1))
        x[np.arange(len(means)), s] = 1.0
        sel = it > 0
        x[np.flatnonzero(sel), k - 1 + it[sel]] = 1.0
        xtx = x.T @ x
        try:
            xtx_inv = np.linalg.inv(xtx)
        except np.linalg.LinAlgError:
            return False
        beta = xtx_inv @ (x.T @ means)
        df = len(means) - x.shape[1]
        if df <= 0:
            return False
        resid = means - x @ beta
        mse = float(resid @ resid) / df
        c = np.zeros(x.shape[1])
        c[0], c[1] = -1.0, 1.0  # intent effects cancel in the difference of marginal means
        diff = float(c @ beta)
        se = math.sqrt(mse * float(c @ xtx_inv @ c) / 2.0)
    if not se > 0:
        return False
    return abs(diff) / se > q_crit(k, df)


def _critical_values(k: int, alpha: float, n_clips: int) -> tuple[np.ndarray, np.ndarray]:
    """Studentized-range quantiles on a df grid, for linear interpolation in 1/df.

    The quantile is smooth in 1/df; nodes at every df from 2 to 10, 10 geometric nodes
    from 12 df to the largest possible df, and infinity keep the interpolation error
    below 1e-3 relative (below 1e-4 from 50 df; a simulated study has hundreds), so a
    simulated decision changes only when its statistic lies that close to the critical
    value. scipy's ``ppf``
    costs a fraction of a second per call, hence
    the grid.
    """
    small = np.arange(2.0, min(10.0, float(n_clips)) + 1.0)  # exact nodes at small df
    large = np.geomspace(12.0, float(n_clips), 10).round() if n_clips > 12 else []
    dfs = np.unique(np.concatenate([small, large]))
    inv = np.concatenate([[0.0], 1.0 / dfs[::-1]])
    crit = [float(studentized_range.ppf(1.0 - alpha, k, np.inf))]
    crit += [float(studentized_range.ppf(1.0 - alpha, k, studentized_range_df(d)))
             for d in dfs[::-1]]
    return inv, np.array(crit)


def simulate_power(
    *,
    systems: int,
    intents: int,
    participants: Sequence[int],
    clips_per_pair: int = 14,
    clips_per_participant: int = 56,
    effect: float = 0.3,
    alpha: float = 0.05,
    dropout: float = 0.15,
    components: VarianceComponents | None = None,
    n_sims: int = 300,
    seed: int = 0,
    min_ratings: int = 4,
    posthoc: str = DEFAULT_POSTHOC,
    workers: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Power of the design at each number of participants, by simulation.

    Parameters are those of :func:`plan_study`; ``participants`` lists the numbers of
    recruited participants to evaluate (ascending).

    Returns
    -------
    DataFrame
        :data:`POWER_CURVE_COLUMNS`.
    """
    k = check_positive_int(systems, name="systems", minimum=2)
    m = check_positive_int(intents, name="intents")
    n_clip = check_positive_int(clips_per_pair, name="clips_per_pair")
    per_part = check_positive_int(clips_per_participant, name="clips_per_participant")
    n_sims = check_positive_int(n_sims, name="n_sims")
    min_ratings = check_positive_int(min_ratings, name="min_ratings")
    posthoc = check_choice(posthoc, ("oneway", "adjusted"), name="posthoc")
    if per_part > k * m:
        raise EmoconveyError(
            f"clips_per_participant: {per_part} clips requested but the design has only "
            f"{k * m} (system, intent) pairs (one clip per pair per participant)"
        )
    if not (isinstance(effect, int | float) and math.isfinite(effect) and effect > 0):
        raise EmoconveyError(f"effect: expected a positive number of scale points, got {effect!r}")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise EmoconveyError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    if not (isinstance(dropout, int | float) and 0 <= dropout < 1):
        raise EmoconveyError(f"dropout: expected a number in [0, 1), got {dropout!r}")
    grid = np.array(sorted({int(p) for p in participants}), dtype=np.int64)
    if len(grid) == 0 or grid[0] < 1:
        raise EmoconveyError("participants: expected positive numbers of participants")
    comp = components if components is not None else variance_components()
    comp_d = {"listener": comp.listener, "clip": comp.clip, "residual": comp.residual,
              "intent": comp.intent}
    workers = workers if workers is not None else max(1, min(os.cpu_count() or 1, 8))
    n_batches = min(n_sims, _BATCHES)  # independent of workers: same seed, same answer
    sizes = np.full(n_batches, n_sims // n_batches)
    sizes[: n_sims % n_batches] += 1
    seeds = np.random.SeedSequence(seed).spawn(n_batches)
    crit = _critical_values(k, alpha, k * m * n_clip)
    jobs = [
        (sd, int(sz), k, m, n_clip, per_part, float(dropout), grid, comp_d, float(effect),
         float(alpha), min_ratings, posthoc, crit)
        for sd, sz in zip(seeds, sizes, strict=True) if sz > 0
    ]
    results = []
    if workers == 1:
        for job in jobs:
            results.append(_simulate_batch(job))
            if on_batch:
                on_batch(job[1])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for job, res in zip(jobs, pool.map(_simulate_batch, jobs), strict=True):
                results.append(res)
                if on_batch:
                    on_batch(job[1])
    hits = np.concatenate(results, axis=0)
    power = hits.mean(axis=0)
    rated = per_part * (1.0 - dropout / 2.0)  # a drop-out rates half the clips on average
    return pd.DataFrame({
        "participants": grid,
        "ratings_per_clip": grid * rated / (k * m * n_clip),
        "power": power,
        "se": np.sqrt(power * (1.0 - power) / hits.shape[0]),
        "power_monotone": isotonic(power),
    })


def isotonic(values: np.ndarray) -> np.ndarray:
    """Least-squares non-decreasing fit (pool-adjacent-violators; Barlow et al., 1972).

    Power cannot fall as participants are added; the fit removes the Monte-Carlo wiggles
    so that the planner's answer does not hinge on one noisy grid point.
    """
    blocks: list[list[float]] = []  # [mean, weight]
    for v in np.asarray(values, dtype=float):
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    return np.concatenate([np.full(int(w), m) for m, w in blocks])


def plan_study(
    *,
    systems: int,
    intents: int,
    clips_per_pair: int = 14,
    clips_per_participant: int = 56,
    effect: float = 0.3,
    power: float = 0.8,
    alpha: float = 0.05,
    dropout: float = 0.15,
    components: VarianceComponents | None = None,
    n_sims: int = 300,
    seed: int = 0,
    min_ratings: int = 4,
    posthoc: str = DEFAULT_POSTHOC,
    max_ratings_per_clip: float = 60.0,
    points: int = 24,
    workers: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> StudyPlan:
    """How many participants a study needs to detect ``effect`` with ``power``.

    Parameters
    ----------
    systems, intents : int
        Design size (*K* systems, *M* intents).
    clips_per_pair : int, default 14
        Clips per (system, intent) pair (AImoclips: 14).
    clips_per_participant : int, default 56
        Clips each participant rates, one per pair (AImoclips: 56).
    effect : float, default 0.3
        Difference in mean deviation (scale points) between two systems to detect.
    power : float, default 0.8
        Target probability of detecting it (Tukey HSD, family-wise ``alpha``).
    alpha : float, default 0.05
    dropout : float, default 0.15
        Share of participants who leave early (after a uniform number of clips).
    components : VarianceComponents, optional
        Default: :func:`variance_components` of the bundled AImoclips data.
    n_sims : int, default 300
        Replicates (power's Monte-Carlo SE is at most 0.029, 0.023 near 0.8).
    seed : int, default 0
    min_ratings : int, default 4
        Clips with fewer ratings are excluded, as in the report.
    posthoc : {"adjusted", "oneway"}, default "adjusted"
        The report's Tukey model; the default is the report's default
        (:data:`~emoconvey.analysis.posthoc.DEFAULT_POSTHOC`). The answer's ``design``
        records it.
    max_ratings_per_clip : float, default 60
        Largest study simulated, in mean ratings per clip.
    points : int, default 24
        Numbers of participants on the power curve (evenly spaced).
    workers : int, optional
        Processes (default: the CPU count, at most 8).
    on_batch : callable, optional
        Called with the number of replicates of each finished batch (progress bars).

    Returns
    -------
    StudyPlan
    """
    if not (isinstance(power, int | float) and 0 < power < 1):
        raise EmoconveyError(f"power: expected a number in (0, 1), got {power!r}")
    k = check_positive_int(systems, name="systems", minimum=2)
    m = check_positive_int(intents, name="intents")
    n_clip = check_positive_int(clips_per_pair, name="clips_per_pair")
    per_part = check_positive_int(clips_per_participant, name="clips_per_participant")
    points = check_positive_int(points, name="points", minimum=2)
    if not (isinstance(dropout, int | float) and 0 <= dropout < 1):
        raise EmoconveyError(f"dropout: expected a number in [0, 1), got {dropout!r}")
    rated = per_part * (1.0 - dropout / 2.0)
    p_max = max(2, math.ceil(max_ratings_per_clip * k * m * n_clip / rated))
    p_min = max(1, math.ceil(min_ratings * k * m * n_clip / rated / 2))
    grid = np.unique(np.linspace(p_min, p_max, points).round().astype(int))
    comp = components if components is not None else variance_components()
    curve = simulate_power(
        systems=k, intents=m, participants=grid, clips_per_pair=n_clip,
        clips_per_participant=per_part, effect=effect, alpha=alpha, dropout=dropout,
        components=comp, n_sims=n_sims, seed=seed, min_ratings=min_ratings,
        posthoc=posthoc, workers=workers, on_batch=on_batch,
    )
    reached = curve[curve["power_monotone"] >= power]
    participants = int(reached["participants"].iloc[0]) if len(reached) else None
    rpc = float(reached["ratings_per_clip"].iloc[0]) if len(reached) else None
    design = {"systems": k, "intents": m, "clips_per_pair": n_clip,
              "clips_per_participant": per_part, "effect": effect, "power": power,
              "alpha": alpha, "dropout": dropout, "n_sims": n_sims, "seed": seed,
              "min_ratings": min_ratings, "posthoc": posthoc}
    return StudyPlan(participants=participants, ratings_per_clip=rpc, power_curve=curve,
                     design=design, components=comp)
