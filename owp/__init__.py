"""owp: open-world proposals with one-stage FCOS detectors on MMDetection.

Importing this package registers every owp module into MMDetection's registries
(configs do it with ``custom_imports = dict(imports=['owp'])``).
"""

__version__ = '0.1.0'

# Side-effect imports: each subpackage registers its modules (MODELS, DATASETS,
# METRICS, HOOKS) and owp.engine patches checkpoint loading for torch >= 2.6.
# engine first: its checkpoint patch precedes everything else.
# isort: off
from . import engine  # noqa: F401,E402
from . import datasets  # noqa: F401,E402
from . import evaluation  # noqa: F401,E402
from . import models  # noqa: F401,E402
from . import analysis  # noqa: F401,E402
from . import utils  # noqa: F401,E402
# isort: on
