"""``python -m mlops_magic.cli`` is the ``mlops`` command."""

from .main import main

main()
