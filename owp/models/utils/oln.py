"""The math of OLN (Kim et al., "Learning Open-World Object Proposals without
Learning to Classify"), as small pure tensor functions.

Boxes are ``(x1, y1, x2, y2)``; every function works on flat lists of boxes.
"""
from typing import Optional

import torch
from torch import Tensor

from .objectness import centerness_target

__all__ = ['OLN_SCORE_MODES', 'anchor_centerness', 'geometric_mean', 'oln_scores']

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
