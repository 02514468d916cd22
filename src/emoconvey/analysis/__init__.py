"""Statistics of emotion conveyance, one module per concept.

Every function takes a long-format table (``Dataset.clips`` or ``Dataset.ratings``) and
keyword-only options, and returns a DataFrame with documented columns.
"""

from emoconvey.analysis.agreement import (
    krippendorff_alpha,
    rater_normalised_anova,
    rater_normalised_clips,
    zscore_rank_agreement,
    zscore_ratings,
)
from emoconvey.analysis.anova import anova, quadrant_effect, system_effect, two_way_anova
from emoconvey.analysis.descriptive import mean_deviation
from emoconvey.analysis.deviation import clip_deviations
from emoconvey.analysis.diversity import emotional_diversity
from emoconvey.analysis.hit_rate import quadrant_hit_rate, wilson_interval
from emoconvey.analysis.neutrality import neutrality_bias
from emoconvey.analysis.pipeline import TABLES, AnalysisResults, analyse
from emoconvey.analysis.plane import ellipse_points, va_plane
from emoconvey.analysis.posthoc import tukey_hsd
from emoconvey.analysis.ranking import system_ranking
from emoconvey.analysis.summary import dataset_summary, ratings_per_clip, system_summary

__all__ = [
    "TABLES",
    "AnalysisResults",
    "analyse",
    "anova",
    "clip_deviations",
    "dataset_summary",
    "ellipse_points",
    "emotional_diversity",
    "krippendorff_alpha",
    "mean_deviation",
    "neutrality_bias",
    "quadrant_effect",
    "quadrant_hit_rate",
    "rater_normalised_anova",
    "rater_normalised_clips",
    "ratings_per_clip",
    "system_effect",
    "system_ranking",
    "system_summary",
    "tukey_hsd",
    "two_way_anova",
    "va_plane",
    "wilson_interval",
    "zscore_rank_agreement",
    "zscore_ratings",
]
