"""Entry point of `python -m review`."""

import sys

from review.cli import main

sys.exit(main())
