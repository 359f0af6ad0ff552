"""``python -m lessons.stores peek``: the second process of ``other_process_sees``."""

import sys

from .sharing import main

sys.exit(main())
