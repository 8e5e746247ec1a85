"""``python -m steersman`` is the ``steersman`` command."""

from steersman.cli.main import main

main()
