"""Reading the score dumps that :class:`~owp.evaluation.metrics.OWPScoreDump` writes.

Numpy only, apart from the metric (which needs mmengine and mmdet, and so torch),
so that the score histograms (:mod:`owp.analysis`, ``scripts/score_histograms.py``)
read dumps without loading torch. The metric re-exports :func:`load_score_dump`.
"""
import warnings
from typing import Dict

import numpy as np

__all__ = ['DEPRECATED_COMPONENTS', 'load_score_dump']

#: Old spellings of score components, still read (deprecated, see docs/design.md).
DEPRECATED_COMPONENTS = {'logits': 'cls_prob'}


def load_score_dump(path: str) -> Dict[str, np.ndarray]:
    """Read a file written by :class:`OWPScoreDump` into a dict of arrays.

    A dump written before the ``logits`` -> ``cls_prob`` rename is read with
    its column renamed (and a deprecation warning).

    Args:
        path: The ``.npz`` file.

    Returns:
        dict: column name -> (P,) array, one row per proposal.
    """
    with np.load(path) as z:
        out = {k: z[k] for k in z.files}
    for old, new in DEPRECATED_COMPONENTS.items():
        if old in out and new not in out:
            warnings.warn(f'{path}: score component {old!r} is now called {new!r}; renamed '
                          'on reading (write the dump again to silence this)',
                          DeprecationWarning, stacklevel=2)
            out[new] = out.pop(old)
    return out
