"""Deprecated: the score dump is :mod:`owp.evaluation.metrics.owp_score_dump`.

Kept for one release so that ``from owp.analysis.score_dump import ...`` keeps
working; importing it warns. Configs name the metric by its registry type,
``dict(type='OWPScoreDump', ...)``, which is unchanged.
"""
import warnings

import numpy as np

from ..evaluation.functional import box_iou_xywh
from ..evaluation.metrics.owp_score_dump import OWPScoreDump, load_score_dump

__all__ = ['OWPScoreDump', 'box_iou_xyxy', 'load_score_dump']

warnings.warn('owp.analysis.score_dump is deprecated and will be removed in the next release: '
              'import OWPScoreDump and load_score_dump from owp.evaluation.metrics',
              DeprecationWarning, stacklevel=2)


def box_iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Deprecated: pairwise IoU of xyxy boxes through the evaluator's IoU.

    Args:
        a: (N, 4) boxes, xyxy.
        b: (M, 4) boxes, xyxy.

    Returns:
        np.ndarray: (N, M) IoU; zeros where a union is empty.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    return box_iou_xywh(np.concatenate([a[:, :2], a[:, 2:] - a[:, :2]], axis=1),
                        np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1))
