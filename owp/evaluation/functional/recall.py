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
(:func:`component_match_ranks`); inputs are flat arrays over the whole
dataset (:func:`recall_from_arrays`), padded batch by batch.

OLN's cross-category protocol (:func:`xclass_recall_from_arrays`) adds
pycocotools' second matching tier (proposals without a target fall to ignored
boxes, :func:`greedy_match_ignored`) and OLN's removal of the proposals that
fell to a box of another class; :func:`oln_auc` is OLN's AUC.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

__all__ = ['IOU_THRS', 'AREA_RANGES', 'UNMATCHED', 'AUC_MAX_DETS', 'box_iou_xywh',
           'class_agnostic_recall', 'component_match_ranks', 'crowd_iou_xywh',
           'greedy_match_ignored', 'greedy_match_ranks', 'ignored_matches_flat',
           'match_ranks_flat', 'oln_auc', 'positions_in_runs', 'rank_by_image',
           'recall_from_arrays', 'stable_argsort_floats', 'stable_argsort_indices',
           'default_threads', 'xclass_recall_from_arrays']

IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
#: Rank of the 'proposal' that took an unmatched target: larger than any k.
UNMATCHED = np.iinfo(np.int64).max
AREA_RANGES = {'all': (0 ** 2, 1e5 ** 2), 's': (0 ** 2, 32 ** 2), 'm': (32 ** 2, 96 ** 2),
               'l': (96 ** 2, 1e5 ** 2)}
#: The k of the AUC that OLN, GGN and GOOD report (OLN's ``tools/compute_auc.py``).
AUC_MAX_DETS = (1, 10, 30, 50, 100, 300, 500, 1000)


#: Pairs per block in :func:`box_iou_xywh`: small enough that the block's
#: temporaries stay in cache (about 2x faster than whole-array passes).
IOU_BLOCK = 1 << 16


def _iou_block(d: np.ndarray, g: np.ndarray, out: np.ndarray) -> None:
    """IoU of (..., D, 4) and (..., G, 4) xywh boxes into ``out`` (..., D, G)."""
    d, g = d[..., :, None, :], g[..., None, :, :]
    dx1, dy1, dw, dh = (d[..., i] for i in range(4))
    gx1, gy1, gw, gh = (g[..., i] for i in range(4))
    # same arithmetic as pycocotools' bbox IoU, with few temporaries
    inter = np.minimum(dx1 + dw, gx1 + gw, out=out)
    inter -= np.maximum(dx1, gx1)
    np.maximum(inter, 0, out=inter)
    ih = np.minimum(dy1 + dh, gy1 + gh)
    ih -= np.maximum(dy1, gy1)
    np.maximum(ih, 0, out=ih)
    inter *= ih
    union = dw * dh + gw * gh - inter
    np.divide(inter, union, out=inter, where=union > 0)
    inter[union <= 0] = 0.0


def box_iou_xywh(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU as pycocotools computes it for non-crowd boxes, batched.

    Computed in blocks of about :data:`IOU_BLOCK` pairs; every element gets
    the same float64 operations in the same order whatever the blocking.

    Args:
        dets: (..., D, 4) boxes, xywh.
        gts: (..., G, 4) boxes, xywh.

    Returns:
        np.ndarray: (..., D, G) float64 IoU (0 where the union is empty).
    """
    d = np.asarray(dets, np.float64)
    g = np.asarray(gts, np.float64)
    if d.ndim == 2 and g.ndim == 2:  # one image: each proposal its own batch row
        return box_iou_xywh(d[:, None], g[None])[:, 0]
    lead = np.broadcast_shapes(d.shape[:-2], g.shape[:-2])
    n_d, n_g = d.shape[-2], g.shape[-2]
    out = np.empty(lead + (n_d, n_g))
    d = np.broadcast_to(d, lead + (n_d, 4)).reshape(-1, n_d, 4)
    g = np.broadcast_to(g, lead + (n_g, 4)).reshape(-1, n_g, 4)
    flat = out.reshape(-1, n_d, n_g)
    step = max(1, IOU_BLOCK // max(n_d * n_g, 1))
    for i in range(0, len(flat), step):
        _iou_block(d[i:i + step], g[i:i + step], flat[i:i + step])
    return out


def crowd_iou_xywh(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU as pycocotools computes it for crowd boxes: intersection / proposal area.

    Same float64 operations as pycocotools' ``bbIou`` with ``iscrowd=1``.

    Args:
        dets: (..., D, 4) boxes, xywh.
        gts: (..., G, 4) crowd boxes, xywh.

    Returns:
        np.ndarray: (..., D, G) float64 (0 where the boxes do not overlap).
    """
    d = np.asarray(dets, np.float64)[..., :, None, :]
    g = np.asarray(gts, np.float64)[..., None, :, :]
    iw = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0],
                                                                              g[..., 0])
    ih = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1],
                                                                              g[..., 1])
    inter = iw * ih
    area = np.broadcast_to(d[..., 2] * d[..., 3], inter.shape)
    out = np.zeros(inter.shape)
    np.divide(inter, area, out=out, where=(iw > 0) & (ih > 0) & (area != 0))
    return out


def greedy_match_ranks(ious: np.ndarray, valid_det: np.ndarray, target: np.ndarray,
                       thrs: np.ndarray) -> np.ndarray:
    """COCO greedy matching; the rank of the proposal that took each target.

    Args:
        ious: (N, D, G) IoU of proposals (sorted by score, rank = index) with
            ground-truth boxes, per image.
        valid_det: (N, D) bool, proposals that exist (padding is False).
        target: (N, A, G) bool, boxes that are recall targets for each of A
            settings (area ranges); non-targets never take part.
        thrs: (T,) IoU thresholds.

    Returns:
        np.ndarray: (N, A, T, G) int rank of the matching proposal, or
        :data:`UNMATCHED` where the target stays unmatched.
    """
    n, d, g = ious.shape
    a, t = target.shape[1], len(thrs)
    ranks = np.full((n, a, t, g), UNMATCHED, dtype=np.int64)
    if n == 0 or d == 0 or g == 0:
        return ranks
    thr = np.minimum(thrs, 1 - 1e-10)[None, None, :, None]
    # Only proposals with some target at IoU >= the lowest threshold can match.
    any_target = target.any(axis=1)  # (N, G)
    cand = valid_det & ((ious >= thr.min()) & any_target[:, None, :]).any(axis=2)
    order = np.argsort(~cand, axis=1, kind='stable')  # candidates first, rank order kept
    ncand = cand.sum(axis=1)
    # Images with the most candidates first: at each step the images still
    # matching are a prefix, so their state is a view (no copies).
    perm = np.argsort(-ncand, kind='stable')
    order, ncand, ious_p = order[perm], ncand[perm], ious[perm]
    avail = np.broadcast_to(target[perm][:, :, None, :], (n, a, t, g)).copy()
    ranks_p = np.full((n, a, t, g), UNMATCHED, dtype=np.int64)
    rev = np.arange(g)[::-1]
    for step in range(int(ncand.max(initial=0))):
        m = int(np.searchsorted(-ncand, -step, side='left'))  # images with ncand > step
        det = order[:m, step]  # (m,) rank of this candidate in its image
        iou = ious_p[np.arange(m), det][:, None, None, :]  # (m, 1, 1, G)
        ok = avail[:m] & (iou >= thr)
        # highest IoU, ties to the later box: argmax over the reversed box axis
        best = g - 1 - np.where(ok, iou, -1.0)[..., rev].argmax(axis=-1)  # (m, A, T)
        r, ai, ti = np.nonzero(ok.any(axis=-1))
        gi = best[r, ai, ti]
        ranks_p[r, ai, ti, gi] = det[r]
        avail[r, ai, ti, gi] = False
    ranks[perm] = ranks_p
    return ranks


def component_match_ranks(ious: np.ndarray, valid_det: np.ndarray, target: np.ndarray,
                          thrs: np.ndarray) -> np.ndarray:
    """:func:`greedy_match_ranks`, solved per connected component of the overlaps.

    Same arguments and result. Link a proposal and a target box when their
    IoU reaches the lowest threshold. A proposal only ever takes a box it is
    linked to, so the greedy matching of one connected component never
    affects another. In the usual component, a star, every proposal links to
    a single box: that box goes, at each threshold, to the best-ranked
    proposal reaching the threshold (a few sorted numpy passes over the
    links). Only components where some proposal links to several boxes (boxes
    that overlap each other heavily) need the sequential greedy pass, which
    then runs on those components alone, a few boxes wide.

    Args:
        ious: (N, D, G) IoU, proposals in rank order.
        valid_det: (N, D) bool.
        target: (N, A, G) bool.
        thrs: (T,) IoU thresholds.

    Returns:
        np.ndarray: (N, A, T, G) rank of the proposal that took each target,
        :data:`UNMATCHED` otherwise (and for every non-target).
    """
    n, d, g = ious.shape
    a, t = target.shape[1], len(thrs)
    ranks = np.full((n, a, t, g), UNMATCHED, dtype=np.int64)
    if n == 0 or d == 0 or g == 0:
        return ranks
    thr = np.minimum(np.asarray(thrs, np.float64), 1 - 1e-10)
    any_target = target.any(axis=1)  # (N, G)
    link = ious >= thr.min()
    link &= valid_det[:, :, None]
    link &= any_target[:, None, :]
    ln, ld, lg = np.nonzero(link)  # sorted by (image, rank, box)
    if ln.size == 0:
        return ranks
    liou = ious[ln, ld, lg]
    gkey = ln * g + lg  # box id
    dkey = ln * d + ld  # proposal id
    new_det = np.ones(ln.size, bool)
    np.not_equal(dkey[1:], dkey[:-1], out=new_det[1:])
    starts = np.flatnonzero(new_det)
    degree = np.diff(np.append(starts, ln.size))
    multi = np.repeat(degree > 1, degree)  # links of proposals with several boxes

    # Components through multi-box proposals: min-label propagation over box ids.
    in_complex = np.zeros(n * g, bool)
    label = None
    if multi.any():
        label = np.arange(n * g)
        mg = gkey[multi]
        mstarts = np.flatnonzero(new_det[multi])
        mdeg = np.diff(np.append(mstarts, mg.size))
        while True:
            per_det = np.minimum.reduceat(label[mg], mstarts)
            new = label.copy()
            np.minimum.at(new, mg, np.repeat(per_det, mdeg))
            new = new[new]  # pointer jumping
            if np.array_equal(new, label):
                break
            label = new
        root = np.zeros(n * g, bool)
        root[label[mg]] = True
        in_complex = root[label]
    complex_link = in_complex[gkey]

    # Stars: per box and threshold, the best rank among its linked proposals.
    best = np.full((n * g, t), UNMATCHED, dtype=np.int64)
    s = np.flatnonzero(~complex_link)
    order = s[np.lexsort((ld[s], gkey[s]))]
    sk, sd, si = gkey[order], ld[order], liou[order]
    for ti, th in enumerate(thr):
        keep = si >= th
        k, r = sk[keep], sd[keep]
        if k.size:
            first = np.ones(k.size, bool)
            np.not_equal(k[1:], k[:-1], out=first[1:])
            best[k[first], ti] = r[first]
    ranks[:] = best.reshape(n, g, t).transpose(0, 2, 1)[:, None]

    # The rest: sequential greedy, component by component.
    c = np.flatnonzero(complex_link)
    if c.size:
        comp_root = label[gkey[c]]
        boxes = np.unique(gkey[c])  # the boxes of complex components
        box_comp = label[boxes]
        comps, box_ci = np.unique(box_comp, return_inverse=True)
        bo = np.lexsort((boxes, box_ci))
        boxes, box_ci = boxes[bo], box_ci[bo]
        box_local = np.arange(boxes.size) - np.searchsorted(box_ci, box_ci)
        link_ci = np.searchsorted(comps, comp_root)
        # local box index of every complex link (boxes sorted by id within a
        # component keep COCO's order for the tie-breaking)
        by_id = np.argsort(boxes)
        link_gl = box_local[by_id[np.searchsorted(boxes[by_id], gkey[c])]]
        # local proposal index: proposals of a component in rank order
        dets_u, det_inv = np.unique(link_ci * (n * d) + dkey[c], return_inverse=True)
        det_ci = dets_u // (n * d)
        det_local = np.arange(det_ci.size) - np.searchsorted(det_ci, det_ci)
        link_dl = det_local[det_inv]
        nc = comps.size
        gc = int(box_local.max()) + 1
        dc = int(det_local.max()) + 1
        ious_c = np.zeros((nc, dc, gc))
        ious_c[link_ci, link_dl, link_gl] = liou[c]
        valid_c = np.zeros((nc, dc), bool)
        valid_c[link_ci, link_dl] = True
        rank_c = np.zeros((nc, dc), np.int64)
        rank_c[link_ci, link_dl] = ld[c]
        bn, bg = boxes // g, boxes % g
        target_c = np.zeros((nc, a, gc), bool)
        target_c[box_ci, :, box_local] = target[bn, :, bg]
        local = greedy_match_ranks(ious_c, valid_c, target_c, thrs)  # (nc, A, T, gc)
        matched = local != UNMATCHED
        glob = np.where(matched, rank_c[np.arange(nc)[:, None, None, None],
                                        np.where(matched, local, 0)], UNMATCHED)
        ranks[bn, :, :, bg] = glob[box_ci, :, :, box_local]
    ranks[~np.broadcast_to(target[:, :, None, :], ranks.shape)] = UNMATCHED
    return ranks


def greedy_match_ignored(ious: np.ndarray, free: np.ndarray, ignored: np.ndarray,
                         reusable: np.ndarray, thr: float) -> np.ndarray:
    """pycocotools' second tier of greedy matching: proposals without a target
    fall to ignored boxes.

    In ``COCOeval.evaluateImg`` a proposal that finds no unmatched target at
    the threshold takes the ignored box (crowd, out of the area range, or, in
    OLN's cross-category protocol, of another class split) of highest IoU
    >= the threshold, ties to the later box; a crowd box can be taken any
    number of times, any other ignored box once. Which targets are matched
    never depends on this tier, so it runs after the target matching.

    Args:
        ious: (N, D, G) IoU (crowd boxes: pycocotools' crowd IoU), proposals in
            rank order, boxes in COCO order.
        free: (N, A, D) bool, proposals that took no target (and exist), per
            setting (area range).
        ignored: (N, A, G) bool, the ignored boxes of each setting.
        reusable: (N, G) bool, crowd boxes.
        thr: The IoU threshold.

    Returns:
        np.ndarray: (N, A, D) int64 index of the ignored box each proposal
        took, -1 if none.
    """
    n, d, g = ious.shape
    a = free.shape[1]
    out = np.full((n, a, d), -1, np.int64)
    if n == 0 or d == 0 or g == 0:
        return out
    th = min(float(thr), 1 - 1e-10)
    reach = ious >= th
    cand = free.any(axis=1) & (reach & ignored.any(axis=1)[:, None, :]).any(axis=2)  # (N, D)
    order = np.argsort(~cand, axis=1, kind='stable')
    ncand = cand.sum(axis=1)
    perm = np.argsort(-ncand, kind='stable')  # images with the most candidates first
    order, ncand = order[perm], ncand[perm]
    ious_p, free_p, reuse_p = ious[perm], free[perm], reusable[perm]
    avail = ignored[perm].copy()
    out_p = np.full((n, a, d), -1, np.int64)
    rev = np.arange(g)[::-1]
    for step in range(int(ncand.max(initial=0))):
        m = int(np.searchsorted(-ncand, -step, side='left'))  # images with ncand > step
        rows = np.arange(m)
        det = order[:m, step]
        iou = ious_p[rows, det][:, None, :]  # (m, 1, G)
        ok = avail[:m] & (iou >= th) & free_p[rows, :, det][:, :, None]  # (m, A, G)
        best = g - 1 - np.where(ok, iou, -1.0)[..., rev].argmax(axis=-1)  # (m, A)
        r, ai = np.nonzero(ok.any(axis=-1))
        gi = best[r, ai]
        out_p[r, ai, det[r]] = gi
        avail[r, ai, gi] = reuse_p[r, gi]
    out[perm] = out_p
    return out


def positions_in_runs(keys: np.ndarray) -> np.ndarray:
    """(N,) index of each element within its run of equal values of sorted ``keys``."""
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.append(starts, keys.size))
    return np.arange(keys.size) - np.repeat(starts, sizes)


def rank_by_image(det_img: np.ndarray, det_scores: np.ndarray) -> np.ndarray:
    """(D,) order putting proposals by image, then by score, ties in input order.

    pycocotools sorts an image's proposals with a stable sort on the negated
    score. Two stable sorts (score, then image) give the same order as
    ``np.lexsort((-scores, img))``, faster.
    """
    by_score = stable_argsort_floats(-np.asarray(det_scores, np.float64))
    return by_score[stable_argsort_indices(np.asarray(det_img)[by_score])]


def stable_argsort_floats(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind='stable')`` for (N,) floats, about 2x faster.

    numpy's default (unstable) sort is vectorised and several times faster
    than its stable merge sort: sort once to number the distinct values,
    then sort the keys (value number, position), which are all different,
    so any sort is stable. NaN (never in validated scores) takes the merge sort.
    """
    values = np.asarray(values, np.float64)
    n = values.size
    if n < 2 or n >= 2 ** 31:
        return np.argsort(values, kind='stable')
    order = np.argsort(values)
    ranked = values[order]
    if np.isnan(ranked[-1]):
        return np.argsort(values, kind='stable')
    new = np.empty(n, bool)
    new[0] = False
    np.not_equal(ranked[1:], ranked[:-1], out=new[1:])
    number = np.empty(n, np.int64)
    number[order] = np.cumsum(new)
    number *= n
    number += np.arange(n)
    return np.argsort(number)


def stable_argsort_indices(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind='stable')`` for non-negative integer keys, faster.

    numpy radix-sorts integers of 16 bits or less (linear time) and merge-sorts
    wider ones; so the keys are sorted 16 bits at a time, least significant
    first (an LSD radix sort of stable passes). One pass up to 65,536 images.

    Args:
        keys: (N,) non-negative integers.

    Returns:
        np.ndarray: (N,) int64 permutation.
    """
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.zeros(0, np.int64)
    if keys.min() < 0:
        return np.argsort(keys, kind='stable')
    top = int(keys.max())
    order = None
    shift = 0
    while True:
        digit = ((keys if order is None else keys[order]) >> shift) & 0xFFFF
        step = np.argsort(digit.astype(np.uint16), kind='stable')
        order = step if order is None else order[step]
        shift += 16
        if top >> shift == 0:
            return order


def _image_batches(gcount: np.ndarray, dcount: np.ndarray, budget: int):
    """Ranges of the (heaviest-first) images whose padded IoU array fits ``budget``."""
    lo, n = 0, len(gcount)
    while lo < n:
        hi, gmax, dmax = lo, 0, 0
        while hi < n:
            g, d = max(gmax, gcount[hi]), max(dmax, dcount[hi])
            if hi > lo and (hi - lo + 1) * max(g, 1) * max(d, 1) > budget:
                break
            gmax, dmax, hi = g, d, hi + 1
        yield lo, hi
        lo = hi


def _regroup(img: np.ndarray, new: np.ndarray, count: np.ndarray, order: np.ndarray
             ) -> np.ndarray:
    """Stable order putting elements by new image index ``new[img]``.

    When ``img`` is already sorted, this moves whole blocks (no sort).
    """
    if img.size and not (np.diff(img) >= 0).all():
        return stable_argsort_indices(new[img])
    start = np.concatenate([[0], np.cumsum(count)[:-1]])  # block of each old image
    size = count[order]
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    return np.arange(img.size) - np.repeat(first, size) + np.repeat(start[order], size)


class _Batched:
    """Images reordered heaviest first, and their boxes padded batch by batch.

    Args:
        num_images: N.
        gt_img: (G,) image index in [0, N) of each ground-truth box.
        det_img: (D,) image index of each proposal, proposals already in
            rank order within each image (see :func:`rank_by_image`).
        budget: Max elements of one batch's padded IoU array.
        min_batches: Lower the budget so that there are about this many batches.
    """

    def __init__(self, num_images: int, gt_img: np.ndarray, det_img: np.ndarray,
                 budget: int, min_batches: int = 1):
        gcount = np.bincount(gt_img, minlength=num_images)
        dcount = np.bincount(det_img, minlength=num_images)
        if min_batches > 1:  # at least that many batches (one per thread)
            total = int((gcount * dcount).sum())
            budget = max(1, min(budget, -(-total // min_batches)))
        order = np.lexsort((-dcount, -gcount))
        self.new = np.empty(num_images, np.int64)
        self.new[order] = np.arange(num_images)
        # stable: COCO order of the boxes and rank order of the proposals are kept
        self.gt_sort = _regroup(gt_img, self.new, gcount, order)
        self.det_sort = _regroup(det_img, self.new, dcount, order)
        self.gt_img = self.new[gt_img][self.gt_sort]
        self.det_img = self.new[det_img][self.det_sort]
        self.gt_pos = positions_in_runs(self.gt_img)
        self.det_pos = positions_in_runs(self.det_img)
        self.ranges = list(_image_batches(gcount[order], dcount[order], budget))

    def batches(self):
        """Yield ``(lo, hi, gt_slice, det_slice)`` in the sorted order."""
        for lo, hi in self.ranges:
            g0, g1 = np.searchsorted(self.gt_img, [lo, hi])
            d0, d1 = np.searchsorted(self.det_img, [lo, hi])
            yield lo, hi, slice(g0, g1), slice(d0, d1)

    def pad(self, lo: int, hi: int, sl: slice, values: np.ndarray, which: str,
            fill=0) -> np.ndarray:
        """(hi - lo, width, ...) padded ``values`` (already sorted) of the batch."""
        img = (self.gt_img if which == 'gt' else self.det_img)[sl] - lo
        pos = (self.gt_pos if which == 'gt' else self.det_pos)[sl]
        width = int(pos.max()) + 1 if pos.size else 0
        out = np.full((hi - lo, width) + values.shape[1:], fill, dtype=values.dtype)
        out[img, pos] = values
        return out


def default_threads() -> int:
    """Threads of the matching: ``$OWP_EVAL_THREADS``, else min(2, CPUs)."""
    env = os.environ.get('OWP_EVAL_THREADS')
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


def match_ranks_flat(num_images: int, gt_img: np.ndarray, gt_boxes: np.ndarray,
                     gt_target: np.ndarray, det_img: np.ndarray, det_boxes: np.ndarray,
                     iou_thrs: np.ndarray, budget: int = 2 ** 23, progress=None,
                     with_det_gt: bool = False, threads: Optional[int] = None):
    """COCO greedy matching of whole datasets given as flat arrays.

    Args:
        num_images: N.
        gt_img: (G,) image index of each box; boxes of an image in COCO order.
        gt_boxes: (G, 4) xywh.
        gt_target: (G, A) bool, recall targets for each of A settings.
        det_img: (D,) image index of each proposal; an image's proposals in
            rank order (see :func:`rank_by_image`).
        det_boxes: (D, 4) xywh.
        iou_thrs: (T,) thresholds.
        budget: Max elements of one batch's padded (images, D_i, G_i) IoU array.
        progress: Called with the number of images done after each batch.
        with_det_gt: Also return which box each proposal took.
        threads: Batches solved concurrently (None: :func:`default_threads`);
            the answer is the same for any value.

    Returns:
        tuple: ``gt_rank`` (G, A, T), the within-image rank of the proposal
        that took each box (:data:`UNMATCHED` if none), and ``det_gt`` (D, A,
        T), the box index (into G) each proposal took, or -1 (None unless
        ``with_det_gt``).
    """
    gt_img, det_img = np.asarray(gt_img, np.int64), np.asarray(det_img, np.int64)
    a, t = gt_target.shape[1], len(iou_thrs)
    gt_rank = np.full((len(gt_img), a, t), UNMATCHED, np.int64)
    det_gt = np.full((len(det_img), a, t), -1, np.int64) if with_det_gt else None
    threads = default_threads() if threads is None else max(1, int(threads))
    # the same peak memory with any number of threads: smaller batches, and at
    # least one per thread
    b = _Batched(num_images, gt_img, det_img, max(budget // threads, 1), threads)
    gts, tgt = gt_boxes[b.gt_sort], gt_target[b.gt_sort]
    dets = det_boxes[b.det_sort]
    done = 0

    def solve(lo, hi, gs, ds):
        target = b.pad(lo, hi, gs, tgt[gs], 'gt', False).transpose(0, 2, 1)  # (m, A, Gm)
        if target.shape[2] and ds.stop > ds.start:
            valid = b.pad(lo, hi, ds, np.ones(ds.stop - ds.start, bool), 'det', False)
            ious = box_iou_xywh(b.pad(lo, hi, ds, dets[ds], 'det'),
                                b.pad(lo, hi, gs, gts[gs], 'gt'))
            ranks = component_match_ranks(ious, valid, target, iou_thrs)  # (m, A, T, Gm)
            img, pos = b.gt_img[gs] - lo, b.gt_pos[gs]
            r = ranks[img, :, :, pos]  # (g, A, T)
            gt_rank[b.gt_sort[gs]] = r
            if with_det_gt:
                gi, ai, ti = np.nonzero(r != UNMATCHED)
                # proposal r of image img: its flat index in the sorted proposals
                flat = ds.start + np.searchsorted(b.det_img[ds], img[gi] + lo) + r[gi, ai, ti]
                det_gt[b.det_sort[flat], ai, ti] = b.gt_sort[gs][gi]
        return hi - lo

    if threads > 1 and len(b.ranges) > 1:
        # numpy releases the GIL in the IoU and matching passes; batches write
        # disjoint rows of gt_rank / det_gt, so the result does not depend on it
        with ThreadPoolExecutor(threads) as ex:
            for n_done in ex.map(lambda args: solve(*args), b.batches()):
                done += n_done
                if progress is not None:
                    progress(done)
    else:
        for args in b.batches():
            done += solve(*args)
            if progress is not None:
                progress(done)
    return gt_rank, det_gt


def ignored_matches_flat(num_images: int, gt_img: np.ndarray, gt_boxes: np.ndarray,
                         gt_ignored: np.ndarray, gt_crowd: np.ndarray, det_img: np.ndarray,
                         det_boxes: np.ndarray, det_free: np.ndarray, thr: float,
                         budget: int = 2 ** 23) -> np.ndarray:
    """:func:`greedy_match_ignored` on whole datasets given as flat arrays.

    Args:
        num_images: N.
        gt_img: (G,) image index of each box; boxes of an image in COCO order.
        gt_boxes: (G, 4) xywh.
        gt_ignored: (G, A) bool, ignored boxes of each setting.
        gt_crowd: (G,) bool; crowd boxes use pycocotools' crowd IoU and can be
            taken any number of times.
        det_img: (D,) image index; an image's proposals in rank order.
        det_boxes: (D, 4) xywh.
        det_free: (D, A) bool, proposals that took no target.
        thr: IoU threshold.
        budget: Max elements of one batch's padded IoU array.

    Returns:
        np.ndarray: (D, A) int64 index (into G) of the ignored box each
        proposal took, -1 if none.
    """
    gt_img, det_img = np.asarray(gt_img, np.int64), np.asarray(det_img, np.int64)
    out = np.full(det_free.shape, -1, np.int64)
    use = gt_ignored.any(axis=1)  # only ignored boxes take part
    gsel = np.flatnonzero(use)
    dsel = np.flatnonzero(det_free.any(axis=1))
    if gsel.size == 0 or dsel.size == 0:
        return out
    b = _Batched(num_images, gt_img[gsel], det_img[dsel], budget)
    gs_all, ds_all = gsel[b.gt_sort], dsel[b.det_sort]
    for lo, hi, gs, ds in b.batches():
        if gs.stop == gs.start or ds.stop == ds.start:
            continue
        gidx, didx = gs_all[gs], ds_all[ds]
        pd = b.pad(lo, hi, ds, det_boxes[didx], 'det')
        pg = b.pad(lo, hi, gs, gt_boxes[gidx], 'gt')
        crowd = b.pad(lo, hi, gs, gt_crowd[gidx], 'gt', False)  # (m, Gm)
        ious = box_iou_xywh(pd, pg)
        ci, cg = np.nonzero(crowd)  # crowd IoU for the crowd columns only
        if ci.size:
            ious[ci, :, cg] = crowd_iou_xywh(pd[ci], pg[ci, cg][:, None])[..., 0]
        free = b.pad(lo, hi, ds, det_free[didx], 'det', False).transpose(0, 2, 1)
        ign = b.pad(lo, hi, gs, gt_ignored[gidx], 'gt', False).transpose(0, 2, 1)
        took = greedy_match_ignored(ious, free, ign, crowd, thr)  # (m, A, Dm)
        img, pos = b.det_img[ds] - lo, b.det_pos[ds]
        t = took[img, :, pos]  # (d, A) local box position
        gimg = b.gt_img[gs] - lo
        first = np.searchsorted(gimg, np.arange(hi - lo))  # first box of each image
        hit = t >= 0
        glob = np.where(hit, gidx[np.where(hit, first[img][:, None] + t, 0)], -1)
        out[didx] = glob
    return out


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
    det_img, det_boxes, _ = _ranked_top(det_img, det_boxes, det_scores, ks[-1])
    gt_rank, _ = match_ranks_flat(num_images, np.asarray(gt_img, np.int64),
                                  np.asarray(gt_boxes, np.float64).reshape(-1, 4), target,
                                  det_img, det_boxes, iou_thrs, progress=progress)
    if gt_subsets is None:
        return _summarize(gt_rank, target, ks)
    a = len(AREA_RANGES)
    return {name: _summarize(gt_rank[:, i * a:(i + 1) * a], target[:, i * a:(i + 1) * a], ks)
            for i, name in enumerate(gt_subsets)}


def _area_targets(gt_areas: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(G, A) bool: eligible boxes whose ``area`` is in each of :data:`AREA_RANGES`."""
    gt_areas = np.asarray(gt_areas, np.float64).reshape(-1)
    return np.stack([eligible & (gt_areas >= a0) & (gt_areas <= a1)
                     for a0, a1 in AREA_RANGES.values()], axis=1)


def _ranked_top(det_img, det_boxes, det_scores, kmax: int):
    """Proposals by image then score (stable), the first ``kmax`` of each image.

    Returns ``(img, boxes, order)``: (D',) int64, (D', 4) float64, and the
    (D',) indices of these proposals in the input.
    """
    order = rank_by_image(det_img, det_scores)
    det_img = np.asarray(det_img, np.int64)[order]
    top = positions_in_runs(det_img) < kmax
    if not top.all():  # else no image is over the largest k: no copies
        order, det_img = order[top], det_img[top]
    return det_img, np.asarray(det_boxes, np.float64).reshape(-1, 4)[order], order


def _summarize(gt_rank: np.ndarray, target: np.ndarray, ks: Sequence[int]) -> Dict[str, float]:
    """AR@k for each k of ``ks`` (sorted), ARs/ARm/ARl at the largest, and
    ``num_targets``, from (G, A, T) ranks and (G, A) targets (A: the
    :data:`AREA_RANGES`, in order)."""
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
                              gt_other: np.ndarray, det_img: np.ndarray, det_boxes: np.ndarray,
                              det_scores: np.ndarray, max_dets: Sequence[int] = (10, 100),
                              iou_thrs: np.ndarray = IOU_THRS,
                              progress: Optional[callable] = None) -> Dict[str, float]:
    """OLN's cross-category AR (``COCOEvalXclassWrapper``), exactly.

    The boxes of the classes not evaluated (``gt_other``, OLN's
    ``ignored_split``) stay in each image as ignored boxes. Per image and area
    range, as OLN's ``evaluateImg`` on top of pycocotools':

    1. proposals are sorted by score (stable) and cut at the largest k;
    2. at each threshold, greedy matching in pycocotools' order: a proposal
       takes the unmatched target of highest IoU; only when none reaches the
       threshold does it fall to an ignored box (crowd, out of the area
       range, or of another class; :func:`greedy_match_ignored`);
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
        gt_other: (G,) bool, boxes of the classes that are not evaluated.

    Returns:
        dict: the keys of :func:`recall_from_arrays`.
    """
    ks = sorted({int(k) for k in max_dets})
    gt_img = np.asarray(gt_img, np.int64)
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    crowd = np.asarray(gt_crowd, bool).reshape(-1)
    other = np.asarray(gt_other, bool).reshape(-1)
    target = _area_targets(gt_areas, ~crowd & ~other)  # (G, A)
    det_img, det_boxes, _ = _ranked_top(det_img, det_boxes, det_scores, ks[-1])
    gt_rank, _ = match_ranks_flat(num_images, gt_img, gt_boxes, target, det_img, det_boxes,
                                  iou_thrs, progress=progress)
    # proposals that took no target at the first threshold
    free = np.ones((det_img.size, target.shape[1]), bool)
    g, a = np.nonzero(gt_rank[:, :, 0] != UNMATCHED)
    free[np.searchsorted(det_img, gt_img[g]) + gt_rank[g, a, 0], a] = False
    took = ignored_matches_flat(num_images, gt_img, gt_boxes, ~target, crowd, det_img,
                                det_boxes, free, iou_thrs[0])  # (D', A)
    keep = ~((took >= 0) & other[took.clip(min=0)]) if other.size else took < 0
    return _summarize(ranks_after_removal(gt_rank, gt_img, det_img, keep, num_images),
                      target, ks)


def ranks_after_removal(gt_rank: np.ndarray, gt_img: np.ndarray, det_img: np.ndarray,
                        keep: np.ndarray, num_images: int) -> np.ndarray:
    """Match ranks re-counted over the proposals that are kept.

    Args:
        gt_rank: (G, A, T) within-image rank of the proposal that took each
            box (:data:`UNMATCHED` if none).
        gt_img: (G,) image index of each box.
        det_img: (D,) image index of each proposal, sorted (rank order within
            an image).
        keep: (D, A) bool, proposals kept in each setting.
        num_images: N.

    Returns:
        np.ndarray: (G, A, T) rank among the kept proposals of the image;
        :data:`UNMATCHED` where the box was unmatched or its proposal removed.
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


def oln_auc(ar_at: Dict[int, float], ar1_zero: bool = False) -> float:
    """The AUC of OLN, GGN and GOOD tables (OLN's ``tools/compute_auc.py``).

    Trapezoid area under AR(k) over x = log(k) / log(1000) at k in
    :data:`AUC_MAX_DETS` (1 ... 1000), i.e. on [0, 1]. OLN's published AUC
    (24.8) was computed with AR@1 set to 0; ``ar1_zero=True`` gives that
    variant.

    Args:
        ar_at: AR (fractions) keyed by k; needs every k of :data:`AUC_MAX_DETS`.
        ar1_zero: Use 0 in place of AR@1.

    Returns:
        float: the AUC (a fraction), -1 when some AR is -1 (no target).
    """
    ys = np.array([0.0 if (k == 1 and ar1_zero) else float(ar_at[k]) for k in AUC_MAX_DETS])
    if (ys < 0).any():
        return -1.0
    x = np.log(np.array(AUC_MAX_DETS, np.float64)) / np.log(1000)
    return float(np.sum(np.diff(x) * (ys[1:] + ys[:-1]) / 2))


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
