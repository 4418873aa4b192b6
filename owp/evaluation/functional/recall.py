"""Class-agnostic recall: the names this module held before the package was split by job.

A thin re-export, kept so that existing imports work. The code lives in
:mod:`.constants`, :mod:`.iou`, :mod:`.ranking`, :mod:`.batching`,
:mod:`.matching`, :mod:`.average_recall` and :mod:`.auc`.
"""
from .auc import oln_auc
from .average_recall import (
    class_agnostic_recall,
    ranks_after_removal,
    recall_from_arrays,
    xclass_recall_from_arrays,
)
from .batching import default_threads
from .constants import AREA_RANGES, AUC_MAX_DETS, IOU_THRS, UNMATCHED
from .iou import IOU_BLOCK, box_iou_xywh, crowd_iou_xywh
from .matching import (
    component_match_ranks,
    greedy_match_ignored,
    greedy_match_ranks,
    ignored_matches_flat,
    match_ranks_flat,
)
from .ranking import (
    positions_in_runs,
    rank_by_image,
    stable_argsort_floats,
    stable_argsort_indices,
)

__all__ = ['IOU_THRS', 'AREA_RANGES', 'UNMATCHED', 'AUC_MAX_DETS', 'IOU_BLOCK', 'box_iou_xywh',
           'class_agnostic_recall', 'component_match_ranks', 'crowd_iou_xywh',
           'greedy_match_ignored', 'greedy_match_ranks', 'ignored_matches_flat',
           'match_ranks_flat', 'oln_auc', 'positions_in_runs', 'rank_by_image',
           'ranks_after_removal', 'recall_from_arrays', 'stable_argsort_floats',
           'stable_argsort_indices', 'default_threads', 'xclass_recall_from_arrays']
