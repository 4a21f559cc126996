"""``python -m thalovant.cli``."""

import sys

from thalovant.cli import main

sys.exit(main())
