"""Former location of the MusicEval protocol;

use :mod:`emoconvey.survey.protocols.musiceval`."""

from emoconvey.survey.protocols.musiceval import *  # noqa: F403
from emoconvey.survey.protocols.musiceval import __all__  # noqa: F401
