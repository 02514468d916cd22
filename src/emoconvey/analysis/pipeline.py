"""The full AImoclips analysis of a dataset, as one call.

:func:`analyse` runs every statistic of the report and returns the tables by name; the
report, the benchmark and users who want everything at once share it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from emoconvey._validation import check_choice, check_confidence
from emoconvey.analysis.agreement import (
    krippendorff_alpha,
    rater_normalised_anova,
    zscore_rank_agreement,
)
from emoconvey.analysis.anova import quadrant_effect, system_effect
from emoconvey.analysis.bootstrap import DEFAULT_N_BOOT, bootstrap_ranking
from emoconvey.analysis.descriptive import mean_deviation
from emoconvey.analysis.deviation import clip_deviations
from emoconvey.analysis.diversity import emotional_diversity
from emoconvey.analysis.hit_rate import quadrant_hit_rate
from emoconvey.analysis.mixed import MAX_DENSE_LEVELS, mixed_model
from emoconvey.analysis.neutrality import neutrality_bias
from emoconvey.analysis.plane import va_plane
from emoconvey.analysis.posthoc import DEFAULT_POSTHOC, tukey_hsd
from emoconvey.analysis.ranking import system_ranking
from emoconvey.analysis.summary import dataset_summary, ratings_per_clip, system_summary
from emoconvey.data.dataset import Dataset

__all__ = [
    "DEFAULT_POSTHOC",
    "POSTHOC_MODELS",
    "TABLES",
    "AnalysisResults",
    "analyse",
    "ranking_with_uncertainty",
]

POSTHOC_MODELS: dict[str, str] = {
    "oneway": "one-way model (deviation ~ system), as R's TukeyHSD(aov(dev ~ system)); "
    "reproduces the AImoclips paper",
    "adjusted": "intent-adjusted model (deviation ~ system + intent), systems compared on "
    "estimated marginal means",
}
"""Models of the Tukey comparisons (``analyse(posthoc=...)``)."""


log = logging.getLogger(__name__)

TABLES: dict[str, str] = {
    "summary": "Dataset summary: clips, ratings, listeners, systems, ratings per clip.",
    "systems": "Per system: clips, ratings, listeners, mean ratings per clip.",
    "ratings_per_clip": "Number of clips by number of ratings received.",
    "excluded_clips": "Clips left out (fewer ratings than the threshold) and why.",
    "ranking": "Systems ranked by mean distance between clip and intent in the "
    "valence-arousal plane, with bootstrap CI, rank interval, probability of being best "
    "and tie group.",
    "ranking_uncertainty": "Every ranking metric (mean distance, MAE per axis, hit rate) "
    "per system: listener-and-clip bootstrap CI, rank interval, posterior probability of "
    "being best, tie groups.",
    "clip_deviations": "Every clip: mean ratings, intent norms, deviation (mean - norm).",
    "deviation_by_system": "Mean deviation per system and axis with 95 % CI.",
    "deviation_by_quadrant": "Mean deviation per intended quadrant and axis with 95 % CI.",
    "deviation_by_intent": "Mean deviation per intent and axis with 95 % CI.",
    "abs_deviation_by_system": "Mean absolute deviation per system and axis with 95 % CI.",
    "abs_deviation_by_quadrant": "Mean absolute deviation per quadrant and axis with 95 % CI.",
    "anova": "Two-way ANOVAs (Type II, main effects): deviation ~ system + intent "
    "(system_effect) and |deviation| ~ quadrant + system (quadrant_effect).",
    "tukey_system": "Tukey HSD between systems on deviation.",
    "tukey_quadrant": "Tukey HSD between quadrants on absolute deviation.",
    "va_plane": "Per system and quadrant: clip-mean centroid, intent norms, 95 % ellipse.",
    "neutrality": "Bias toward the scale centre (5, 5) and compression slope.",
    "diversity": "Spread of clip means per system (per axis and in the plane).",
    "hit_rate_by_system": "Share of clips rated in the intended quadrant, per system.",
    "hit_rate_by_intent": "Share of clips rated in the intended quadrant, per system "
    "and intent.",
    "agreement": "Inter-rater agreement: Krippendorff's alpha (interval) per axis.",
    "agreement_by_system": "Krippendorff's alpha per system and axis.",
    "anova_zscore": "Robustness: system + intent ANOVA of clip means of ratings "
    "z-scored within each listener.",
    "ranking_zscore": "Robustness: system ranking on raw vs listener-z-scored ratings, "
    "with Spearman's rho between the two.",
    "mixed_model": "Robustness: rating-level mixed model dev ~ system + intent + "
    "(1|listener) + (1|clip) per axis: estimated marginal mean deviation of each system "
    "with Wald CI.",
    "mixed_model_variance": "Robustness: the mixed model's variance components "
    "(listener, clip, residual), intraclass correlations and Wald test of the system "
    "effect, per axis.",
}
"""Name and one-line description of every table :func:`analyse` returns, in order."""


@dataclass(frozen=True)
class AnalysisResults:
    """Every table of the analysis.

    Attributes
    ----------
    dataset : Dataset
        The analysed data.
    tables : dict of str to DataFrame
        Keyed by the names of :data:`TABLES`, in that order.
    warnings : list of str
        Warnings raised while computing (degenerate groups and the like), for the report.
    confidence : float
        Confidence level of intervals and tests.
    posthoc : str
        Model of the Tukey comparisons (see :data:`POSTHOC_MODELS`).
    """

    dataset: Dataset
    tables: dict[str, pd.DataFrame]
    warnings: list[str] = field(default_factory=list)
    confidence: float = 0.95
    posthoc: str = DEFAULT_POSTHOC

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)


def ranking_with_uncertainty(ranking: pd.DataFrame, boot: pd.DataFrame) -> pd.DataFrame:
    """The ranking table with the bootstrap columns of its ``mean_distance`` metric.

    Adds ``ci_low``, ``ci_high``, ``rank_low``, ``rank_high``, ``p_best`` and ``group``
    (from :func:`~emoconvey.analysis.bootstrap.bootstrap_ranking`) after
    ``mean_distance``; rows and other columns unchanged.
    """
    extra = ["ci_low", "ci_high", "rank_low", "rank_high", "p_best", "group"]
    md = boot[boot["metric"] == "mean_distance"].set_index("system")[extra]
    out = ranking.join(md, on="system")
    cols = list(ranking.columns)
    at = cols.index("mean_distance") + 1
    return out.loc[:, cols[:at] + extra + cols[at:]]


def _run_steps(
    steps: dict[str, Callable[[], pd.DataFrame]], on_step: Callable[[str], None] | None
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Compute every table in order; collect each distinct warning once, prefixed by its table."""
    tables: dict[str, pd.DataFrame] = {}
    caught: list[str] = []
    for name, step in steps.items():
        if on_step is not None:
            on_step(name)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            tables[name] = step()
        for w in seen:
            message = f"{name}: {w.message}"
            if message not in caught:
                caught.append(message)
                log.warning("%s", message)
    return tables, caught


def analyse(
    dataset: Dataset,
    *,
    confidence: float = 0.95,
    on_step: Callable[[str], None] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    mixed_max_levels: int = MAX_DENSE_LEVELS,
    posthoc: str = DEFAULT_POSTHOC,
) -> AnalysisResults:
    """Run the complete emotion-conveyance analysis.

    Parameters
    ----------
    dataset : Dataset
        Validated data (see :func:`emoconvey.data.load_dataset`).
    confidence : float, default 0.95
        Level of confidence intervals and family-wise level of the Tukey tests.
    on_step : callable, optional
        Called with each table's name before it is computed (for progress bars).
    n_boot : int, default 2000
        Bootstrap replicates of the ranking (see :mod:`emoconvey.analysis.bootstrap`).
    seed : int, default 0
        Seed of every random step (the bootstrap).
    mixed_max_levels : int, default :data:`~emoconvey.analysis.mixed.MAX_DENSE_LEVELS`
        The mixed model is skipped (with a warning, empty tables) when the listeners and
        the clips both exceed this number.
    posthoc : {"adjusted", "oneway"}, default :data:`DEFAULT_POSTHOC` (the planner's)
        Tukey model (:data:`POSTHOC_MODELS`): ``"adjusted"`` (deviation ~ system + intent,
        marginal means; |deviation| ~ quadrant + system for the quadrants) or
        ``"oneway"`` (deviation ~ system, R's ``TukeyHSD(aov(dev ~ system))``; reproduces
        the AImoclips paper).

    Returns
    -------
    AnalysisResults
    """
    confidence = check_confidence(confidence)
    posthoc = check_choice(posthoc, tuple(POSTHOC_MODELS), name="posthoc")
    adjusted = posthoc == "adjusted"
    clips = dataset.clips
    ratings = dataset.ratings
    boot: dict[str, pd.DataFrame] = {}

    def uncertainty() -> pd.DataFrame:
        if "table" not in boot:
            boot["table"] = bootstrap_ranking(
                clips, ratings=ratings, n_boot=n_boot, confidence=confidence, seed=seed
            )
        return boot["table"]

    mixed: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def mixed_fit() -> tuple[pd.DataFrame, pd.DataFrame]:
        if "fit" not in mixed:
            mixed["fit"] = mixed_model(
                ratings, dataset.intents, confidence=confidence, max_levels=mixed_max_levels
            )
        return mixed["fit"]

    steps: dict[str, Callable[[], pd.DataFrame]] = {
        "summary": lambda: dataset_summary(ratings, excluded=dataset.excluded),
        "systems": lambda: system_summary(ratings),
        "ratings_per_clip": lambda: ratings_per_clip(ratings),
        "excluded_clips": lambda: dataset.excluded.copy(),
        "ranking": lambda: ranking_with_uncertainty(system_ranking(clips), uncertainty()),
        "ranking_uncertainty": lambda: uncertainty().copy(),
        "clip_deviations": lambda: clip_deviations(clips),
        "deviation_by_system": lambda: mean_deviation(
            clips, by="system", confidence=confidence
        ),
        "deviation_by_quadrant": lambda: mean_deviation(
            clips, by="quadrant", confidence=confidence
        ),
        "deviation_by_intent": lambda: mean_deviation(
            clips, by="intent", confidence=confidence
        ),
        "abs_deviation_by_system": lambda: mean_deviation(
            clips, by="system", absolute=True, confidence=confidence
        ),
        "abs_deviation_by_quadrant": lambda: mean_deviation(
            clips, by="quadrant", absolute=True, confidence=confidence
        ),
        "anova": lambda: pd.concat(
            [system_effect(clips), quadrant_effect(clips)], ignore_index=True
        ),
        "tukey_system": lambda: tukey_hsd(
            clips, by="system", measure="deviation", confidence=confidence,
            adjust_for="intent" if adjusted else None,
        ),
        "tukey_quadrant": lambda: tukey_hsd(
            clips, by="quadrant", measure="abs_deviation", confidence=confidence,
            adjust_for="system" if adjusted else None,
        ),
        "va_plane": lambda: va_plane(clips, confidence=confidence),
        "neutrality": lambda: neutrality_bias(clips, confidence=confidence),
        "diversity": lambda: emotional_diversity(clips),
        "hit_rate_by_system": lambda: quadrant_hit_rate(
            clips, by="system", confidence=confidence
        ),
        "hit_rate_by_intent": lambda: quadrant_hit_rate(
            clips, by=("system", "intent"), confidence=confidence
        ),
        "agreement": lambda: krippendorff_alpha(ratings),
        "agreement_by_system": lambda: krippendorff_alpha(ratings, by="system"),
        "anova_zscore": lambda: rater_normalised_anova(ratings),
        "ranking_zscore": lambda: zscore_rank_agreement(ratings),
        "mixed_model": lambda: mixed_fit()[0],
        "mixed_model_variance": lambda: mixed_fit()[1],
    }
    tables, caught = _run_steps(steps, on_step)
    return AnalysisResults(
        dataset=dataset, tables=tables, warnings=caught, confidence=confidence,
        posthoc=posthoc,
    )
