"""``python -m dysonlearn`` is the ``dysonlearn`` command."""

import sys

from .cli import main

sys.exit(main())
