"""LVIS's federated AP on a subset of categories (e.g. a split's base classes)."""
import contextlib
import logging
from typing import Dict, Mapping, Sequence

import numpy as np

__all__ = ['lvis_federated_ap']

#: What :func:`lvis_federated_ap` returns (LVISEval's summary names, prefixed).
LVIS_AP_KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')


@contextlib.contextmanager
def _numpy_float_alias():
    """lvis 0.5.3 calls ``np.float``, which numpy 1.24 removed: alias it to
    ``float`` for the duration of the call, and only if it is missing."""
    missing = 'float' not in np.__dict__
    if missing:
        np.float = float
    try:
        yield
    finally:
        if missing:
            del np.float


@contextlib.contextmanager
def _quiet(name: str):
    """The lvis package logs every step at INFO/WARNING; silence it for a call."""
    logger = logging.getLogger(name)
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def lvis_federated_ap(lvis: Mapping, results: Sequence[Mapping], cat_ids: Sequence[int],
                      max_dets: int = 300, prefix: str = 'base/') -> Dict[str, float]:
    """LVIS bbox AP (the ``lvis`` package's federated protocol) on ``cat_ids``.

    Federated: a detection of category c on an image counts only where c is
    annotated on it (``annotations``) or listed in its ``neg_category_ids``;
    where c is in ``not_exhaustive_category_ids`` unmatched detections are not
    false positives. At most ``max_dets`` detections per image (LVIS: 300),
    across categories. This is the AP of the paper's LVIS table (2), unlike
    COCO-style AP (:func:`owp.evaluation.base_class_ap`), which counts every
    detection.

    Args:
        lvis: An LVIS v1 annotation dict (images with ``neg_category_ids`` and
            ``not_exhaustive_category_ids``).
        results: COCO-style results with the file's ``category_id``.
        cat_ids: Categories to evaluate (e.g. a split's base ids).
        max_dets: Detections kept per image.
        prefix: Key prefix.

    Returns:
        dict: ``{prefix}AP``, ``AP50``, ``AP75``, ``APs/m/l``, ``APr/c/f`` as
        fractions (-1 where a group has no category with ground truth).
    """
    from lvis import LVIS, LVISEval, LVISResults
    missing = [k for k in ('neg_category_ids', 'not_exhaustive_category_ids')
               if lvis['images'] and k not in lvis['images'][0]]
    if missing:
        raise ValueError(f'LVIS federated AP needs the images\' {missing} (not an LVIS file?)')
    wanted = set(cat_ids)
    # copies: LVISResults adds keys (area, id, segmentation) to each dict
    dets = [dict(r) for r in results if r['category_id'] in wanted]
    if not dets:
        return {f'{prefix}{k}': 0.0 for k in LVIS_AP_KEYS}
    gt = LVIS.__new__(LVIS)  # from a dict: LVIS() only reads a path
    gt.logger = logging.getLogger('lvis')
    gt.dataset = lvis
    gt._create_index()
    with _numpy_float_alias(), _quiet('lvis'):
        dt = LVISResults(gt, dets, max_dets=max_dets)
        ev = LVISEval(gt, dt, 'bbox')
        ev.params.cat_ids = sorted(wanted)
        ev.params.max_dets = max_dets
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {f'{prefix}{k}': float(ev.results[k]) for k in LVIS_AP_KEYS}
