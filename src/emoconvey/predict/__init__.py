"""Automatic prediction of listener ratings from audio (``emoconvey predict``).

Rated clips (AImoclips valence/arousal, MusicEval musical impression ``MI`` and textual
alignment ``TA``, or any table of audio files and scores) train a predictor made of an
audio representation (:mod:`emoconvey.predict.extractors`) and a regression head
(:mod:`emoconvey.predict.heads`; :mod:`emoconvey.predict.temporal` for frame sequences);
:mod:`emoconvey.predict.metrics` scores predictions the
MusicEval / AudioMOS way, at utterance and at system level.

Only :mod:`emoconvey.predict.metrics` works without the ``predict`` extra (numpy, pandas and
scipy); extractors and heads import librosa, scikit-learn, torch and transformers lazily.
"""

from emoconvey.predict.metrics import METRIC_NAMES, score_frames, score_predictions

__all__ = ["METRIC_NAMES", "score_frames", "score_predictions"]
