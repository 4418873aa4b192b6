"""OLN's AUC of average recall over k (``tools/compute_auc.py``)."""
from typing import Dict

import numpy as np

from .constants import AUC_MAX_DETS

__all__ = ['oln_auc']


def oln_auc(ar_at: Dict[int, float], ar1_zero: bool = False) -> float:
    """The AUC of OLN, GGN and GOOD tables (OLN's ``tools/compute_auc.py``).

    Trapezoid area under AR(k) over x = log(k) / log(1000) at k in
    :data:`~.constants.AUC_MAX_DETS` (1 ... 1000), i.e. on [0, 1]. OLN's published AUC
    (24.8) was computed with AR@1 set to 0; ``ar1_zero=True`` gives that
    variant.

    Args:
        ar_at: AR (fractions) keyed by k; needs every k of :data:`~.constants.AUC_MAX_DETS`.
        ar1_zero: Use 0 in place of AR@1.

    Returns:
        float: the AUC (a fraction), -1 when some AR is -1 (no target).
    """
    ys = np.array([0.0 if (k == 1 and ar1_zero) else float(ar_at[k]) for k in AUC_MAX_DETS])
    if (ys < 0).any():
        return -1.0
    x = np.log(np.array(AUC_MAX_DETS, np.float64)) / np.log(1000)
    return float(np.sum(np.diff(x) * (ys[1:] + ys[:-1]) / 2))
