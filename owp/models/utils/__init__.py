from .objectness import (
    OBJECTNESS_SAMPLING,
    SCORE_MODES,
    centerness_target,
    combine_scores,
    iou_sampling,
    iou_target,
    objectness_train_mask,
    parse_score_mode,
    points_in_boxes,
    unknown_object_mask,
)

__all__ = ['OBJECTNESS_SAMPLING', 'SCORE_MODES', 'centerness_target', 'combine_scores',
           'iou_sampling', 'iou_target', 'objectness_train_mask', 'parse_score_mode',
           'points_in_boxes', 'unknown_object_mask']
