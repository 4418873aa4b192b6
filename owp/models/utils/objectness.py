"""The math of OWP objectness, as small pure tensor functions.

Distances are FCOS ``(left, top, right, bottom)`` tuples from a point to the
sides of a box; every function here works on flattened points (N = points).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['centerness_target', 'iou_target', 'iou_sampling', 'objectness_train_mask',
           'unknown_object_mask', 'points_in_boxes', 'combine_scores', 'parse_score_mode',
           'SCORE_MODES', 'OBJECTNESS_SAMPLING', 'fused_conv3x3']

#: The paper's ``test_cfg.score_mode`` values and the objectness branches they
#: need (any branch of the head works the same way, see :func:`parse_score_mode`).
SCORE_MODES = {
    'logits*centerness': ('centerness', ),
    'logits*iou': ('iou', ),
    'centerness': ('centerness', ),
    'iou': ('iou', ),
    'sqrt(centerness*iou)': ('centerness', 'iou'),
}
#: Allowed ``objectness_sampling`` values (which points train the objectness branches).
OBJECTNESS_SAMPLING = ('center', 'inside', 'all')


def centerness_target(ltrb: Tensor) -> Tensor:
    """FCOS centerness (paper eq. 1).

    Args:
        ltrb: (N, 4) target distances, all > 0 for points inside their box.

    Returns:
        Tensor: (N,) sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)); 0 where a
        distance is <= 0 (points outside any box), never NaN.
    """
    lr, tb = ltrb[:, [0, 2]], ltrb[:, [1, 3]]
    valid = (ltrb > 0).all(dim=1)
    ratio = (lr.min(1)[0] / lr.max(1)[0].clamp(min=1e-6)) * \
        (tb.min(1)[0] / tb.max(1)[0].clamp(min=1e-6))
    return torch.where(valid, ratio.clamp(min=0).sqrt(), ratio.new_zeros(()))


def iou_target(pred_ltrb: Tensor, target_ltrb: Tensor) -> Tensor:
    """IoU of a predicted and a target box that share a point (paper eq. 2).

    I = (min(l,l*) + min(r,r*)) * (min(t,t*) + min(b,b*)),
    U = (l*+r*)(t*+b*) + (l+r)(t+b) - I.

    Args:
        pred_ltrb: (N, 4) predicted distances (negative values are clamped to 0).
        target_ltrb: (N, 4) target distances (same units as ``pred_ltrb``).

    Returns:
        Tensor: (N,) IoU in [0, 1]; 0 for degenerate boxes, never NaN.
    """
    pred = pred_ltrb.clamp(min=0)
    tgt = target_ltrb.clamp(min=0)
    w_i = torch.min(pred[:, 0], tgt[:, 0]) + torch.min(pred[:, 2], tgt[:, 2])
    h_i = torch.min(pred[:, 1], tgt[:, 1]) + torch.min(pred[:, 3], tgt[:, 3])
    inter = w_i * h_i
    area_p = (pred[:, 0] + pred[:, 2]) * (pred[:, 1] + pred[:, 3])
    area_t = (tgt[:, 0] + tgt[:, 2]) * (tgt[:, 1] + tgt[:, 3])
    union = area_p + area_t - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-6), inter.new_zeros(()))


def iou_sampling(targets: Tensor, thr: Optional[float]) -> Tensor:
    """IoU sampling (paper sec. 3.2): targets below ``thr`` become 0 (hard negatives).

    Args:
        targets: (N,) objectness targets in [0, 1].
        thr: Threshold; ``None`` returns ``targets`` unchanged.

    Returns:
        Tensor: (N,) targets.
    """
    if thr is None:
        return targets
    return torch.where(targets < thr, targets.new_zeros(()), targets)


def objectness_train_mask(sampling: str, center_pos: Tensor, inside_pos: Tensor) -> Tensor:
    """Which points train the objectness branches.

    Args:
        sampling: 'center' (FCOS positives after center sampling), 'inside'
            (every point inside a box within its level's range) or 'all'.
        center_pos: (N,) bool, FCOS positives (center sampling as configured).
        inside_pos: (N,) bool, points inside a box within their level's range.

    Returns:
        Tensor: (N,) bool mask of points that enter the objectness loss.
    """
    if sampling == 'center':
        return center_pos
    if sampling == 'inside':
        return inside_pos
    if sampling == 'all':
        return torch.ones_like(center_pos)
    raise ValueError(f'objectness_sampling must be one of {OBJECTNESS_SAMPLING}, '
                     f'got {sampling!r}')


def unknown_object_mask(objectness_logits: Tensor, is_background: Tensor, thr: float) -> Tensor:
    """Unknown-object masking (paper sec. 3.3): background points that look like objects.

    Args:
        objectness_logits: (N,) predicted objectness logits (detached here).
        is_background: (N,) bool, points labelled background and outside every
            annotated box (the candidates for masking).
        thr: Objectness probability above which a background point is masked.

    Returns:
        Tensor: (N,) bool, True for points to drop from the classification loss.
    """
    return is_background & (objectness_logits.detach().sigmoid() > thr)


def points_in_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """Points strictly inside any of the boxes (unknown-area masking, appendix A).

    Args:
        points: (N, 2) xy.
        boxes: (M, 4) xyxy.

    Returns:
        Tensor: (N,) bool.
    """
    if boxes.numel() == 0:
        return points.new_zeros(points.size(0), dtype=torch.bool)
    x, y = points[:, 0:1], points[:, 1:2]
    inside = (x > boxes[:, 0]) & (x < boxes[:, 2]) & (y > boxes[:, 1]) & (y < boxes[:, 3])
    return inside.any(dim=1)


def parse_score_mode(mode: str) -> Tuple[bool, Tuple[str, ...]]:
    """Read a scoring rule: which objectness branches it needs, class-aware or not.

    The forms are ``'logits*<b>'`` (class probability times branch ``b``; the
    paper's name, though the factors are sigmoid probabilities), ``'<b>'``
    and ``'sqrt(<a>*<b>)'``, for any branch names; :data:`SCORE_MODES` lists
    those of the paper's two branches.

    Args:
        mode: The ``test_cfg.score_mode`` string.

    Returns:
        tuple: ``(class_aware, branches)``; ``branches`` is empty when ``mode``
        has none of these forms.
    """
    if mode.startswith('logits*'):
        rest = mode[len('logits*'):]
        return True, ((rest, ) if rest.isidentifier() else ())
    if mode.startswith('sqrt(') and mode.endswith(')') and mode.count('*') == 1:
        a, b = mode[len('sqrt('):-1].split('*')
        return False, ((a, b) if a.isidentifier() and b.isidentifier() and a != b else ())
    return False, ((mode, ) if mode.isidentifier() and mode != 'logits' else ())


def combine_scores(mode: str, cls_prob: Tensor, centerness: Optional[Tensor] = None,
                   iou: Optional[Tensor] = None, **objectness: Tensor) -> Tensor:
    """Proposal scores of a scoring rule (paper sec. 3.2 and 4).

    Args:
        mode: A scoring rule (see :func:`parse_score_mode`), e.g. one of
            :data:`SCORE_MODES`.
        cls_prob: (N, C) class probabilities (sigmoid of the logits).
        centerness: (N,) centerness probability, or None.
        iou: (N,) IoU probability, or None.
        **objectness: (N,) probabilities of other objectness branches, by name.

    Returns:
        Tensor: (N, C) for the class-aware modes ('logits*...'), (N, 1) for the
        class-agnostic objectness-only modes.
    """
    probs = dict(objectness, centerness=centerness, iou=iou)
    class_aware, branches = parse_score_mode(mode)
    missing = [b for b in branches if probs.get(b) is None]
    if not branches or missing:
        raise ValueError(f'score_mode={mode!r}: ' + (f'no probabilities given for {missing}'
                         if missing else f'not a scoring rule; e.g. {list(SCORE_MODES)}'))
    if class_aware:
        return cls_prob * probs[branches[0]][:, None]
    if len(branches) == 1:
        return probs[branches[0]][:, None]
    return (probs[branches[0]] * probs[branches[1]]).sqrt()[:, None]


def fused_conv3x3(x: Tensor, kernels: Sequence[Tuple[Tensor, Optional[Tensor]]]) -> Tensor:
    """Several 3x3 (stride 1, padding 1) convs of the same input as one conv.

    Convolution is linear in its kernel, so concatenating kernels along the
    output axis gives exactly the concatenated outputs (up to float summation
    order). On CPU a conv with 1 output channel costs about as much as one
    with several, so folding the 1-channel objectness convs into the tower's
    output conv makes them nearly free.

    Args:
        x: (B, C, H, W) input.
        kernels: ``(weight, bias)`` pairs, weight (O_j, C, 3, 3), bias (O_j,)
            or None.

    Returns:
        Tensor: (B, sum_j O_j, H, W), the outputs in the order of ``kernels``.
    """
    weights = [w for w, _ in kernels]
    biases = [b if b is not None else w.new_zeros(w.size(0)) for w, b in kernels]
    if len(kernels) == 1:
        return F.conv2d(x, weights[0], biases[0], padding=1)
    return F.conv2d(x, torch.cat(weights), torch.cat(biases), padding=1)
