"""``python -m pzmpi`` is the ``pzmpi`` command."""

import sys

from pzmpi.cli import main

sys.exit(main())
