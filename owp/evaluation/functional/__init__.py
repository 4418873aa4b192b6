from .recall import (
    AREA_RANGES,
    IOU_THRS,
    UNMATCHED,
    box_iou_xywh,
    class_agnostic_recall,
    component_match_ranks,
    greedy_match_ranks,
    match_ranks_flat,
    recall_from_arrays,
)

__all__ = ['AREA_RANGES', 'IOU_THRS', 'UNMATCHED', 'box_iou_xywh', 'class_agnostic_recall',
           'component_match_ranks', 'greedy_match_ranks', 'match_ranks_flat',
           'recall_from_arrays']
