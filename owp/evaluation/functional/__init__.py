from .auc import oln_auc
from .average_recall import (
    class_agnostic_recall,
    recall_from_arrays,
    xclass_recall_from_arrays,
)
from .constants import AREA_RANGES, AUC_MAX_DETS, IOU_THRS, UNMATCHED
from .iou import box_iou_xywh, crowd_iou_xywh
from .matching import (
    component_match_ranks,
    greedy_match_ignored,
    greedy_match_ranks,
    match_ranks_flat,
)

__all__ = ['AREA_RANGES', 'AUC_MAX_DETS', 'IOU_THRS', 'UNMATCHED', 'box_iou_xywh',
           'class_agnostic_recall', 'component_match_ranks', 'crowd_iou_xywh',
           'greedy_match_ignored', 'greedy_match_ranks', 'match_ranks_flat', 'oln_auc',
           'recall_from_arrays', 'xclass_recall_from_arrays']
