"""The math of OLN (Kim et al., "Learning Open-World Object Proposals without
Learning to Classify"), as small pure tensor functions.

Boxes are ``(x1, y1, x2, y2)``; every function works on flat lists of boxes.
"""
from typing import Optional, Tuple

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

from .objectness import centerness_target

__all__ = ['OLN_SCORE_MODES', 'anchor_centerness', 'box_iou_targets', 'geometric_mean',
           'oln_scores']

#: ``test_cfg.rcnn.score_mode`` values of OLN's box head, with what they need:
#: the paper's OLN-Box score (sqrt of RPN centerness x box IoU), the same times
#: the class probability (OLN with classification), or one factor alone.
OLN_SCORE_MODES = ('sqrt(centerness*iou)', 'logits*sqrt(centerness*iou)', 'centerness', 'iou')


def anchor_centerness(anchors: Tensor, gt_bboxes: Tensor) -> Tensor:
    """Centerness of each anchor's center w.r.t. its assigned box (OLN-RPN's target).

    OLN encodes the distances from the anchor center to the four sides of the
    box (TBLR coder) and takes FCOS's centerness of them; the per-axis
    normalisation of the coder cancels in the ratios.

    Args:
        anchors: (N, 4) anchors.
        gt_bboxes: (N, 4) the box assigned to each anchor.

    Returns:
        Tensor: (N,) sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)) in [0, 1]; 0 for
        an anchor whose center is not strictly inside its box.
    """
    cx = (anchors[:, 0] + anchors[:, 2]) / 2
    cy = (anchors[:, 1] + anchors[:, 3]) / 2
    ltrb = torch.stack([cx - gt_bboxes[:, 0], cy - gt_bboxes[:, 1],
                        gt_bboxes[:, 2] - cx, gt_bboxes[:, 3] - cy], dim=1)
    return centerness_target(ltrb)


def box_iou_targets(pos_priors: Tensor, pos_gt_bboxes: Tensor,
                    num_neg: int) -> Tuple[Tensor, Tensor]:
    """OLN-Box's IoU-score targets of one image's sampled RoIs (positives first).

    The target of a positive RoI is the IoU of its box (the RPN's regressed
    anchor, or a ground-truth box added as a proposal) with the ground truth it
    was assigned, as in OLN's ``Shared2FCBBoxScoreHead``; negatives carry no loss.

    Args:
        pos_priors: (P, 4) boxes of the positive RoIs.
        pos_gt_bboxes: (P, 4) their assigned ground-truth boxes.
        num_neg: Number of negative RoIs that follow the positives.

    Returns:
        tuple: targets (P + num_neg,) and weights (P + num_neg,) (1 for positives).
    """
    pos = bbox_overlaps(pos_priors, pos_gt_bboxes, is_aligned=True)
    targets = torch.cat([pos, pos.new_zeros(num_neg)])
    weights = torch.cat([torch.ones_like(pos), pos.new_zeros(num_neg)])
    return targets, weights


def geometric_mean(a: Tensor, b: Tensor) -> Tensor:
    """sqrt(a * b), OLN's final score of a box (RPN centerness and box IoU score).

    Args:
        a: (N,) scores in [0, 1].
        b: (N,) scores in [0, 1].

    Returns:
        Tensor: (N,) their geometric mean (negative products clamped to 0).
    """
    return (a * b).clamp(min=0).sqrt()


def oln_scores(mode: str, rpn_score: Tensor, iou_score: Tensor,
               cls_prob: Optional[Tensor] = None) -> Tensor:
    """Score of each RoI and class under an :data:`OLN_SCORE_MODES` mode.

    Args:
        mode: One of :data:`OLN_SCORE_MODES`.
        rpn_score: (N,) the RPN's objectness (centerness) of each proposal.
        iou_score: (N,) the box head's IoU score (sigmoid) of each RoI.
        cls_prob: (N, C) class probabilities (softmax without background);
            needed by ``'logits*...'`` modes, whose scores are per class.

    Returns:
        Tensor: (N, C) for ``'logits*...'`` modes, else (N, 1) (one 'object' class).
    """
    if mode not in OLN_SCORE_MODES:
        raise ValueError(f'score_mode={mode!r}: expected one of {list(OLN_SCORE_MODES)}')
    base = mode.split('*', 1)[1] if mode.startswith('logits*') else mode
    loc = {'sqrt(centerness*iou)': lambda: geometric_mean(rpn_score, iou_score),
           'centerness': lambda: rpn_score,
           'iou': lambda: iou_score}[base]()
    if mode.startswith('logits*'):
        if cls_prob is None:
            raise ValueError(f'score_mode={mode!r} needs class probabilities')
        return cls_prob * loc[:, None]
    return loc[:, None]
