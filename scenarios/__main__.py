"""``python -m scenarios`` is the ``hemesh`` command."""

from .cli import main

main()
