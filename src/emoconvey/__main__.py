"""``python -m emoconvey``: the same as the ``emoconvey`` command."""

from emoconvey.cli import main

main()
