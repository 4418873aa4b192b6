"""``python -m owp.experiments``: see :mod:`owp.experiments.cli`."""
import sys

from .cli import main

sys.exit(main())
