"""``python -m mdpgrad`` is the ``mdpgrad`` command."""

import sys

from .cli import main

sys.exit(main())
