"""``python -m scenarios`` is the ``hemesh`` command."""

from ._cli import main

main()
