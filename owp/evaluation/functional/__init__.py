from .recall import (AREA_RANGES, IOU_THRS, box_iou_xywh, class_agnostic_recall,
                     greedy_match_ranks)

__all__ = ['AREA_RANGES', 'IOU_THRS', 'box_iou_xywh', 'class_agnostic_recall',
           'greedy_match_ranks']
