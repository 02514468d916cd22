"""Former location of MusicEval batch assignment;

use :mod:`emoconvey.survey.protocols.batches`."""

from emoconvey.survey.protocols.batches import *  # noqa: F403
from emoconvey.survey.protocols.batches import __all__  # noqa: F401
