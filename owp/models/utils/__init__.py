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
from .oln import (
    OLN_SCORE_MODES,
    anchor_centerness,
    box_iou_targets,
    geometric_mean,
    oln_scores,
)

__all__ = ['OBJECTNESS_SAMPLING', 'OLN_SCORE_MODES', 'SCORE_MODES', 'anchor_centerness',
           'box_iou_targets', 'centerness_target', 'combine_scores', 'geometric_mean',
           'iou_sampling', 'iou_target', 'objectness_train_mask', 'oln_scores',
           'parse_score_mode', 'points_in_boxes', 'unknown_object_mask']
