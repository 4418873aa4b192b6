from .recall import (
                     AREA_RANGES,
                     AUC_MAX_DETS,
                     IOU_THRS,
                     UNMATCHED,
                     box_iou_xywh,
                     class_agnostic_recall,
                     component_match_ranks,
                     crowd_iou_xywh,
                     greedy_match_ignored,
                     greedy_match_ranks,
                     match_ranks_flat,
                     oln_auc,
                     recall_from_arrays,
                     xclass_recall_from_arrays,
)

__all__ = ['AREA_RANGES', 'AUC_MAX_DETS', 'IOU_THRS', 'UNMATCHED', 'box_iou_xywh',
           'class_agnostic_recall', 'component_match_ranks', 'crowd_iou_xywh',
           'greedy_match_ignored', 'greedy_match_ranks', 'match_ranks_flat', 'oln_auc',
           'recall_from_arrays', 'xclass_recall_from_arrays']
