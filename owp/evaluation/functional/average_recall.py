"""Exact, vectorised class-agnostic average recall with COCO's semantics.

Reproduces ``pycocotools.cocoeval.COCOeval`` with ``useCats=0`` for recall:

* proposals of an image are sorted by score (stable: ties keep file order) and
  cut at k;
* for each IoU threshold in 0.50:0.05:0.95, proposals in score order each take
  the unmatched ground-truth box with the highest IoU >= threshold (ties go to
  the later box in COCO's order: by category id, then file order);
* crowd boxes and boxes outside the area range are ignored: they are never
  recall targets, and (for recall) whatever they absorb changes nothing;
* area ranges use the ground truth's ``area`` field: small [0, 32^2],
  medium [32^2, 96^2], large [96^2, 1e10], all [0, 1e10];
* recall = matched targets / targets over all images; AR = its mean over the
  thresholds; -1 where there is no target (as pycocotools).

Since a greedy match in score order never looks ahead, one pass over the
largest k gives the matching of every smaller k as well: a target counts for
AR@k when the rank of the proposal that took it is below k. The matching is
solved per connected component of the proposal-box overlaps
(:func:`~.matching.component_match_ranks`); inputs are flat arrays over the whole
dataset (:func:`recall_from_arrays`), padded batch by batch.

OLN's cross-category protocol (:func:`xclass_recall_from_arrays`) adds
pycocotools' second matching tier (proposals without a target fall to ignored
boxes, :func:`~.matching.greedy_match_ignored`) and OLN's removal of the proposals that
fell to a box of another class; :func:`~.auc.oln_auc` is OLN's AUC.
"""
from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np

from .batching import default_threads
from .constants import AREA_RANGES, IOU_THRS, UNMATCHED
from .matching import ignored_matches_flat, match_ranks_flat
from .ranking import positions_in_runs, rank_by_image_blocked

__all__ = ['recall_from_arrays', 'xclass_recall_from_arrays', 'ranks_after_removal',
           'class_agnostic_recall']


def recall_from_arrays(num_images: int, gt_img: np.ndarray, gt_boxes: np.ndarray,
                       gt_areas: np.ndarray, gt_crowd: np.ndarray, det_img: np.ndarray,
                       det_boxes: np.ndarray, det_scores: np.ndarray,
                       max_dets: Sequence[int] = (10, 100), iou_thrs: np.ndarray = IOU_THRS,
                       progress: Optional[callable] = None,
                       gt_subsets: Optional[Mapping[str, np.ndarray]] = None) -> Dict:
    """Class-agnostic AR@k (and ARs/ARm/ARl at the largest k), COCO semantics.

    The whole dataset as flat arrays (G boxes, D proposals, N images):

    Args:
        num_images: N; images without boxes or proposals count (as pycocotools).
        gt_img: (G,) image index in [0, N) of each box.
        gt_boxes: (G, 4) xywh; an image's boxes in COCO's order (category id,
            then file order), which decides ties.
        gt_areas: (G,) the ``area`` field.
        gt_crowd: (G,) bool, ``iscrowd``.
        det_img: (D,) image index of each proposal.
        det_boxes: (D, 4) xywh.
        det_scores: (D,) scores; ties keep input order.
        max_dets: The k values.
        iou_thrs: IoU thresholds (default 0.50:0.05:0.95).
        progress: Called with the number of images done after each batch.
        gt_subsets: ``{name: (G,) bool}``: measure recall on several subsets
            of the boxes at once (e.g. novel and base classes), each as if the
            other boxes were removed. The proposals are ranked, the IoUs
            computed and the matching solved once for all of them.

    Returns:
        dict: ``AR@k`` for each k, ``ARs@K``, ``ARm@K``, ``ARl@K`` for the
        largest K, and ``num_targets`` (non-crowd boxes); fractions in [0, 1],
        -1 where there is no target. With ``gt_subsets``: ``{name: that dict}``.
    """
    ks = sorted({int(k) for k in max_dets})
    target = _area_targets(gt_areas, ~np.asarray(gt_crowd, bool).reshape(-1))  # (G, A)
    if gt_subsets is not None:
        # a box outside a subset is no target of that subset's columns, which
        # is what removing it does to recall (non-targets never take part)
        masks = [np.asarray(m, bool).reshape(-1, 1) for m in gt_subsets.values()]
        target = np.concatenate([target & m for m in masks], axis=1)  # (G, S * A)
    det_img, order = _ranked_top(det_img, det_scores, ks[-1])
    gt_rank, _ = match_ranks_flat(num_images, np.asarray(gt_img, np.int64),
                                  np.asarray(gt_boxes, np.float64).reshape(-1, 4), target,
                                  det_img, np.asarray(det_boxes, np.float64).reshape(-1, 4),
                                  iou_thrs, progress=progress, det_index=order)
    if gt_subsets is None:
        return _summarize(gt_rank, target, ks)
    a = len(AREA_RANGES)
    return {name: _summarize(gt_rank[:, i * a:(i + 1) * a], target[:, i * a:(i + 1) * a], ks)
            for i, name in enumerate(gt_subsets)}


def _area_targets(gt_areas: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(G, A) bool: eligible boxes whose ``area`` is in each of :data:`~.constants.AREA_RANGES`."""
    gt_areas = np.asarray(gt_areas, np.float64).reshape(-1)
    return np.stack([eligible & (gt_areas >= a0) & (gt_areas <= a1)
                     for a0, a1 in AREA_RANGES.values()], axis=1)


def _ranked_top(det_img, det_scores, kmax: int):
    """Proposals by image then score (stable), the first ``kmax`` of each image.

    Returns ``(img, order)``: (D',) int64 image index and the (D',) indices
    of these proposals in the input.
    """
    order = rank_by_image_blocked(det_img, det_scores, threads=default_threads())
    det_img = np.asarray(det_img, np.int64)[order]
    if det_img.size and np.bincount(det_img).max() > kmax:  # else nothing to cut
        top = positions_in_runs(det_img) < kmax
        order, det_img = order[top], det_img[top]
    return det_img, order


def _summarize(gt_rank: np.ndarray, target: np.ndarray, ks: Sequence[int]) -> Dict[str, float]:
    """AR@k for each k of ``ks`` (sorted), ARs/ARm/ARl at the largest, and
    ``num_targets``, from (G, A, T) ranks and (G, A) targets (A: the
    :data:`~.constants.AREA_RANGES`, in order)."""
    kmax = ks[-1]
    npig = target.sum(axis=0)  # (A,)
    hits = np.stack([(gt_rank < k).sum(axis=0) for k in ks])  # (K, A, T)
    out: Dict[str, float] = {}
    with np.errstate(divide='ignore', invalid='ignore'):
        recall = np.where(npig[None, :, None] > 0, hits / np.maximum(npig, 1)[None, :, None], -1)
    for ki, k in enumerate(ks):
        out[f'AR@{k}'] = _mean_ar(recall[ki, 0])
    for ai, name in ((1, 'ARs'), (2, 'ARm'), (3, 'ARl')):
        out[f'{name}@{kmax}'] = _mean_ar(recall[-1, ai])
    out['num_targets'] = float(npig[0])
    return out


def xclass_recall_from_arrays(num_images: int, gt_img: np.ndarray, gt_boxes: np.ndarray,
                              gt_areas: np.ndarray, gt_crowd: np.ndarray,
                              gt_other: Union[np.ndarray, Mapping[str, np.ndarray]],
                              det_img: np.ndarray, det_boxes: np.ndarray,
                              det_scores: np.ndarray, max_dets: Sequence[int] = (10, 100),
                              iou_thrs: np.ndarray = IOU_THRS,
                              progress: Optional[callable] = None) -> Dict:
    """OLN's cross-category AR (``COCOEvalXclassWrapper``), exactly.

    The boxes of the classes not evaluated (``gt_other``, OLN's
    ``ignored_split``) stay in each image as ignored boxes. Per image and area
    range, as OLN's ``evaluateImg`` on top of pycocotools':

    1. proposals are sorted by score (stable) and cut at the largest k;
    2. at each threshold, greedy matching in pycocotools' order: a proposal
       takes the unmatched target of highest IoU; only when none reaches the
       threshold does it fall to an ignored box (crowd, out of the area
       range, or of another class; :func:`~.matching.greedy_match_ignored`);
    3. a proposal that fell to a box of another class at the *first*
       threshold is removed with its matches at every threshold;
    4. AR@k counts the targets matched by the first k of what remains.

    So the cut comes before the removal (AR@k depends on the largest k asked
    for), and removal is decided per area range. Crowd boxes of another class
    remove what they absorb, with pycocotools' crowd IoU.

    Args:
        num_images, gt_img, gt_boxes, gt_areas, gt_crowd, det_img, det_boxes,
            det_scores, max_dets, iou_thrs, progress: as
            :func:`recall_from_arrays`; the boxes are ALL boxes of the images
            (G), an image's boxes in COCO order (category id, file order).
        gt_other: (G,) bool, boxes of the classes that are not evaluated; or
            ``{name: (G,) bool}``: several evaluations at once (e.g. novel
            with base ignored, and base with novel ignored), each exactly as
            alone; the ranking, the IoUs and both matching tiers are computed
            once for all of them (their settings side by side).

    Returns:
        dict: the keys of :func:`recall_from_arrays`; with a mapping,
        ``{name: that dict}``.
    """
    ks = sorted({int(k) for k in max_dets})
    gt_img = np.asarray(gt_img, np.int64)
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    crowd = np.asarray(gt_crowd, bool).reshape(-1)
    others = gt_other if isinstance(gt_other, Mapping) else {None: gt_other}
    other = np.stack([np.asarray(o, bool).reshape(-1) for o in others.values()], axis=1)
    area = _area_targets(gt_areas, ~crowd)  # (G, A)
    n_area = area.shape[1]
    # settings side by side: (G, S * A), those of evaluation s in columns s*A:(s+1)*A
    target = (area[:, None, :] & ~other[:, :, None]).reshape(len(crowd), -1)
    det_img, order = _ranked_top(det_img, det_scores, ks[-1])
    # np.take: a row gather several times faster than fancy indexing
    det_boxes = np.take(np.asarray(det_boxes, np.float64).reshape(-1, 4), order, axis=0)
    gt_rank, _ = match_ranks_flat(num_images, gt_img, gt_boxes, target, det_img, det_boxes,
                                  iou_thrs, progress=progress)
    # proposals that took no target at the first threshold
    free = np.ones((det_img.size, target.shape[1]), bool)
    g, a = np.nonzero(gt_rank[:, :, 0] != UNMATCHED)
    free[np.searchsorted(det_img, gt_img[g]) + gt_rank[g, a, 0], a] = False
    took = ignored_matches_flat(num_images, gt_img, gt_boxes, ~target, crowd, det_img,
                                det_boxes, free, iou_thrs[0])  # (D', A)
    if len(crowd):  # removed: what fell to a box of another class of its evaluation
        other_col = np.repeat(other, n_area, axis=1)  # (G, S * A)
        keep = ~((took >= 0) & other_col[took.clip(min=0), np.arange(target.shape[1])])
    else:
        keep = took < 0
    out = {}
    for s, name in enumerate(others):  # one evaluation at a time: less memory at once
        c = slice(s * n_area, (s + 1) * n_area)
        ranks = ranks_after_removal(gt_rank[:, c], gt_img, det_img, keep[:, c], num_images)
        out[name] = _summarize(ranks, target[:, c], ks)
    return out if isinstance(gt_other, Mapping) else out[None]


def ranks_after_removal(gt_rank: np.ndarray, gt_img: np.ndarray, det_img: np.ndarray,
                        keep: np.ndarray, num_images: int) -> np.ndarray:
    """Match ranks re-counted over the proposals that are kept.

    Args:
        gt_rank: (G, A, T) within-image rank of the proposal that took each
            box (:data:`~.constants.UNMATCHED` if none).
        gt_img: (G,) image index of each box.
        det_img: (D,) image index of each proposal, sorted (rank order within
            an image).
        keep: (D, A) bool, proposals kept in each setting.
        num_images: N.

    Returns:
        np.ndarray: (G, A, T) rank among the kept proposals of the image;
        :data:`~.constants.UNMATCHED` where the box was unmatched or its proposal removed.
    """
    out = np.full(gt_rank.shape, UNMATCHED, np.int64)
    if det_img.size == 0:
        return out
    start = np.searchsorted(det_img, np.arange(num_images))  # (N,) first proposal
    kept = np.cumsum(keep, axis=0)  # (D, A) kept proposals up to and with each one
    before = np.concatenate([np.zeros((1, keep.shape[1]), np.int64), kept])[start]  # (N, A)
    g, a, t = np.nonzero(gt_rank != UNMATCHED)
    flat = start[gt_img[g]] + gt_rank[g, a, t]
    ok = keep[flat, a]
    out[g[ok], a[ok], t[ok]] = kept[flat[ok], a[ok]] - 1 - before[gt_img[g[ok]], a[ok]]
    return out


def class_agnostic_recall(gt_boxes: Sequence[np.ndarray], gt_areas: Sequence[np.ndarray],
                          gt_crowd: Sequence[np.ndarray], det_boxes: Sequence[np.ndarray],
                          det_scores: Sequence[np.ndarray], max_dets: Sequence[int] = (10, 100),
                          iou_thrs: np.ndarray = IOU_THRS,
                          progress: Optional[callable] = None) -> Dict[str, float]:
    """:func:`recall_from_arrays` with per-image inputs.

    Per image i (same order in every argument): ``gt_boxes[i]`` (G_i, 4) xywh
    in COCO's order, ``gt_areas[i]`` (G_i,), ``gt_crowd[i]`` (G_i,) bool,
    ``det_boxes[i]`` (D_i, 4) xywh, ``det_scores[i]`` (D_i,).
    """
    def flat(groups, cols, dtype):
        parts = [np.asarray(x, dtype).reshape(-1, cols) for x in groups]
        sizes = np.array([len(x) for x in parts], np.int64)
        arr = np.concatenate(parts) if parts else np.zeros((0, cols), dtype)
        return arr, np.repeat(np.arange(len(parts)), sizes)

    gb, gi = flat(gt_boxes, 4, np.float64)
    db, di = flat(det_boxes, 4, np.float64)
    return recall_from_arrays(len(gt_boxes), gi, gb, flat(gt_areas, 1, np.float64)[0][:, 0],
                              flat(gt_crowd, 1, bool)[0][:, 0], di, db,
                              flat(det_scores, 1, np.float64)[0][:, 0], max_dets, iou_thrs,
                              progress)


def _mean_ar(r: np.ndarray) -> float:
    """pycocotools' summarize: mean over entries > -1, else -1."""
    valid = r[r > -1]
    return float(valid.mean()) if valid.size else -1.0
