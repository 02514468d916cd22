"""Former location of storage;

use :mod:`emoconvey.survey.storage`."""

from emoconvey.survey.storage import *  # noqa: F403
from emoconvey.survey.storage import __all__  # noqa: F401
