"""COCO's greedy matching of proposals to boxes: per image, per component, per dataset.

A target's match is stored as the rank of the proposal that took it
(:data:`~.constants.UNMATCHED` if none), so one pass over the largest k gives
every smaller k. :func:`greedy_match_ranks` is the reference (pycocotools'
loop, batched over images); :func:`component_match_ranks` gives the same
answer by connected components of the overlaps; :func:`match_ranks_flat` runs
it on a whole dataset given as flat arrays. :func:`greedy_match_ignored` is
pycocotools' second tier (proposals without a target fall to ignored boxes),
:func:`ignored_matches_flat` its flat-array form.
"""
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np

from .batching import _Batched, default_threads
from .constants import UNMATCHED
from .iou import box_iou_links_xywh, box_iou_xywh, crowd_iou_xywh
from .ranking import stable_argsort_indices

__all__ = ['greedy_match_ranks', 'component_match_ranks', 'greedy_match_ignored',
           'match_ranks_flat', 'ignored_matches_flat']


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
        :data:`~.constants.UNMATCHED` where the target stays unmatched.
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
    IoU reaches the lowest threshold (:func:`_links`). A proposal only ever
    takes a box it is linked to, so the greedy matching of one connected
    component never affects another. In the usual component, a star, every
    proposal links to a single box: that box goes, at each threshold, to the
    best-ranked proposal reaching the threshold (a few sorted numpy passes
    over the links, :func:`_star_ranks`). Only components where some proposal
    links to several boxes (boxes that overlap each other heavily,
    :func:`_complex_components`) need the sequential greedy pass, which then
    runs on those components alone, a few boxes wide (:func:`_complex_ranks`).

    Args:
        ious: (N, D, G) IoU, proposals in rank order.
        valid_det: (N, D) bool.
        target: (N, A, G) bool.
        thrs: (T,) IoU thresholds.

    Returns:
        np.ndarray: (N, A, T, G) rank of the proposal that took each target,
        :data:`~.constants.UNMATCHED` otherwise (and for every non-target).
    """
    n, d, g = ious.shape
    if n == 0 or d == 0 or g == 0:
        return np.full((n, target.shape[1], len(thrs), g), UNMATCHED, dtype=np.int64)
    thr = np.minimum(np.asarray(thrs, np.float64), 1 - 1e-10)
    ln, ld, lg = _links(ious, valid_det, target, thr.min())
    return _ranks_from_links((n, d, g), ln, ld, lg, ious[ln, ld, lg], target, thrs)


def _ranks_from_links(shape, ln: np.ndarray, ld: np.ndarray, lg: np.ndarray, liou: np.ndarray,
                      target: np.ndarray, thrs: np.ndarray) -> np.ndarray:
    """:func:`component_match_ranks` given the links instead of the IoUs.

    Args:
        shape: ``(N, D, G)``.
        ln, ld, lg: (L,) image, rank and box of each link (:func:`_links`), sorted.
        liou: (L,) IoU of each link.
        target: (N, A, G) bool.
        thrs: (T,) thresholds.

    Returns:
        np.ndarray: (N, A, T, G), as :func:`component_match_ranks`.
    """
    n, d, g = shape
    a, t = target.shape[1], len(thrs)
    ranks = np.full((n, a, t, g), UNMATCHED, dtype=np.int64)
    if ln.size == 0:
        return ranks
    thr = np.minimum(np.asarray(thrs, np.float64), 1 - 1e-10)
    gkey = ln * g + lg  # box id
    dkey = ln * d + ld  # proposal id
    in_complex, label = _complex_components(gkey, dkey, n * g)
    complex_link = in_complex[gkey]
    s = np.flatnonzero(~complex_link)
    best = _star_ranks(gkey[s], ld[s], liou[s], thr, n * g)  # (N * G, T)
    ranks[:] = best.reshape(n, g, t).transpose(0, 2, 1)[:, None]
    c = np.flatnonzero(complex_link)
    if c.size:
        _complex_ranks(ranks, target, thrs, label, gkey[c], dkey[c], ld[c], liou[c], d)
    ranks[~np.broadcast_to(target[:, :, None, :], ranks.shape)] = UNMATCHED
    return ranks


def _links(ious: np.ndarray, valid_det: np.ndarray, target: np.ndarray, thr_min: float):
    """The proposal-box links: IoU >= ``thr_min``, an existing proposal, and a
    box that is a target in some setting.

    Args:
        ious: (N, D, G) IoU.
        valid_det: (N, D) bool.
        target: (N, A, G) bool.
        thr_min: The lowest threshold.

    Returns:
        tuple: ``(image, rank, box)``, (L,) int64 each, sorted by image, rank,
        box.
    """
    any_target = target.any(axis=1)  # (N, G)
    link = ious >= thr_min
    link &= valid_det[:, :, None]
    link &= any_target[:, None, :]
    return np.nonzero(link)


def _complex_components(gkey: np.ndarray, dkey: np.ndarray, num_boxes: int):
    """The boxes of components through a proposal linked to several boxes.

    Min-label propagation over box ids along those proposals' links, with
    pointer jumping.

    Args:
        gkey: (L,) box id of each link.
        dkey: (L,) proposal id of each link, sorted (a proposal's links together).
        num_boxes: Number of box ids (N * G).

    Returns:
        tuple: ``in_complex`` (num_boxes,) bool, and ``label`` (num_boxes,)
        int64, the root box id of each box's component (None when no
        proposal links to several boxes).
    """
    new_det = np.ones(dkey.size, bool)  # first link of each proposal
    np.not_equal(dkey[1:], dkey[:-1], out=new_det[1:])
    starts = np.flatnonzero(new_det)
    degree = np.diff(np.append(starts, dkey.size))
    multi = np.repeat(degree > 1, degree)  # links of proposals with several boxes
    in_complex = np.zeros(num_boxes, bool)
    if not multi.any():
        return in_complex, None
    label = np.arange(num_boxes)
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
    root = np.zeros(num_boxes, bool)
    root[label[mg]] = True
    return root[label], label


def _star_ranks(gkey: np.ndarray, rank: np.ndarray, liou: np.ndarray, thr: np.ndarray,
                num_boxes: int) -> np.ndarray:
    """Matches in star components: per box and threshold, the best rank among
    the proposals linked to it that reach the threshold.

    Args:
        gkey: (L,) box id of each link (links of star components only).
        rank: (L,) rank of the link's proposal in its image.
        liou: (L,) IoU of the link.
        thr: (T,) thresholds.
        num_boxes: Number of box ids (N * G).

    Returns:
        np.ndarray: (num_boxes, T) int64 rank, :data:`UNMATCHED` if none.

    A link reaches the thresholds up to its IoU: the first ``reach`` of them
    in increasing order. Along a box's links in rank order, a link whose
    ``reach`` beats every earlier one's takes the thresholds between (a
    running maximum): one pass over the links for all thresholds.
    """
    t = len(thr)
    best = np.full((num_boxes, t), UNMATCHED, dtype=np.int64)
    if gkey.size == 0 or t == 0:
        return best
    up = np.argsort(thr, kind='stable')
    reach = np.searchsorted(np.asarray(thr, np.float64)[up], liou, side='right')  # (L,)
    # links in rank order already (sorted by image, rank, box): stable by box id
    order = stable_argsort_indices(gkey)
    key, reach = gkey[order], reach[order]
    new_box = np.ones(key.size, bool)
    np.not_equal(key[1:], key[:-1], out=new_box[1:])
    box_no = np.cumsum(new_box) - 1
    # running maximum of reach within each box (boxes offset apart)
    run = np.maximum.accumulate(box_no * (t + 1) + reach) - box_no * (t + 1)
    before = np.zeros(key.size, np.int64)
    before[1:] = run[:-1]
    before[new_box] = 0
    gain = np.flatnonzero(run > before)  # links that take thresholds [before, run)
    width = run[gain] - before[gain]
    at = np.repeat(gain, width)
    ti = np.arange(at.size) - np.repeat(np.cumsum(width) - width, width) + before[at]
    best[key[at], up[ti]] = rank[order[at]]
    return best


def _complex_ranks(ranks: np.ndarray, target: np.ndarray, thrs: np.ndarray, label: np.ndarray,
                   gkey: np.ndarray, dkey: np.ndarray, rank: np.ndarray, liou: np.ndarray,
                   d: int) -> None:
    """Sequential greedy matching (:func:`greedy_match_ranks`) on the complex
    components, each packed into a small padded image; writes into ``ranks``.

    Args:
        ranks: (N, A, T, G) int64, set at the boxes of these components.
        target: (N, A, G) bool.
        thrs: (T,) thresholds.
        label: (N * G,) component (root box id) of each box id.
        gkey: (L,) box id (image * G + box) of each complex link.
        dkey: (L,) proposal id (image * D + rank) of each link.
        rank: (L,) rank of the link's proposal in its image.
        liou: (L,) IoU of the link.
        d: D.
    """
    n, a, _, g = ranks.shape
    comp_root = label[gkey]
    boxes = np.unique(gkey)  # the boxes of complex components
    box_comp = label[boxes]
    comps, box_ci = np.unique(box_comp, return_inverse=True)
    bo = np.lexsort((boxes, box_ci))
    boxes, box_ci = boxes[bo], box_ci[bo]
    box_local = np.arange(boxes.size) - np.searchsorted(box_ci, box_ci)
    link_ci = np.searchsorted(comps, comp_root)
    # local box index of every complex link (boxes sorted by id within a
    # component keep COCO's order for the tie-breaking)
    by_id = np.argsort(boxes)
    link_gl = box_local[by_id[np.searchsorted(boxes[by_id], gkey)]]
    # local proposal index: proposals of a component in rank order
    dets_u, det_inv = np.unique(link_ci * (n * d) + dkey, return_inverse=True)
    det_ci = dets_u // (n * d)
    det_local = np.arange(det_ci.size) - np.searchsorted(det_ci, det_ci)
    link_dl = det_local[det_inv]
    nc = comps.size
    gc = int(box_local.max()) + 1
    dc = int(det_local.max()) + 1
    ious_c = np.zeros((nc, dc, gc))
    ious_c[link_ci, link_dl, link_gl] = liou
    valid_c = np.zeros((nc, dc), bool)
    valid_c[link_ci, link_dl] = True
    rank_c = np.zeros((nc, dc), np.int64)
    rank_c[link_ci, link_dl] = rank
    bn, bg = boxes // g, boxes % g
    target_c = np.zeros((nc, a, gc), bool)
    target_c[box_ci, :, box_local] = target[bn, :, bg]
    local = greedy_match_ranks(ious_c, valid_c, target_c, thrs)  # (nc, A, T, gc)
    matched = local != UNMATCHED
    glob = np.where(matched, rank_c[np.arange(nc)[:, None, None, None],
                                    np.where(matched, local, 0)], UNMATCHED)
    ranks[bn, :, :, bg] = glob[box_ci, :, :, box_local]


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


def match_ranks_flat(num_images: int, gt_img: np.ndarray, gt_boxes: np.ndarray,
                     gt_target: np.ndarray, det_img: np.ndarray, det_boxes: np.ndarray,
                     iou_thrs: np.ndarray, budget: int = 2 ** 23, progress=None,
                     with_det_gt: bool = False, threads: Optional[int] = None,
                     det_index: Optional[np.ndarray] = None):
    """COCO greedy matching of whole datasets given as flat arrays.

    Args:
        num_images: N.
        gt_img: (G,) image index of each box; boxes of an image in COCO order.
        gt_boxes: (G, 4) xywh.
        gt_target: (G, A) bool, recall targets for each of A settings.
        det_img: (D,) image index of each proposal; an image's proposals in
            rank order (see :func:`~.ranking.rank_by_image`).
        det_boxes: (D, 4) xywh.
        iou_thrs: (T,) thresholds.
        budget: Max elements of one batch's padded (images, D_i, G_i) IoU array.
        progress: Called with the number of images done after each batch.
        with_det_gt: Also return which box each proposal took.
        threads: Batches solved concurrently (None: :func:`~.batching.default_threads`);
            the answer is the same for any value.
        det_index: (D,) int, optional: proposal i is ``det_boxes[det_index[i]]``
            (``det_boxes`` then holds them in any order, e.g. the input's, and
            is gathered batch by batch instead of copied whole).

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
    # np.take: row gathers several times faster than fancy indexing
    gts, tgt = np.take(gt_boxes, b.gt_sort, axis=0), np.take(gt_target, b.gt_sort, axis=0)
    det_at = b.det_sort if det_index is None else np.take(det_index, b.det_sort)
    thr_min = min(float(np.min(iou_thrs)), 1 - 1e-10) if t else 1.0
    done = 0

    def solve(lo, hi, gs, ds):
        target = b.pad(lo, hi, gs, tgt[gs], 'gt', False).transpose(0, 2, 1)  # (m, A, Gm)
        if target.shape[2] and ds.stop > ds.start:
            valid = b.pad(lo, hi, ds, np.ones(ds.stop - ds.start, bool), 'det', False)
            # component_match_ranks on the links alone: no (m, Dm, Gm) IoU array
            dets = np.take(det_boxes, det_at[ds], axis=0)  # the batch's proposals
            links = box_iou_links_xywh(b.pad(lo, hi, ds, dets, 'det'),
                                       b.pad(lo, hi, gs, gts[gs], 'gt'), thr_min, valid,
                                       target.any(axis=1))
            ranks = _ranks_from_links((hi - lo, valid.shape[1], target.shape[2]), *links,
                                      target, iou_thrs)  # (m, A, T, Gm)
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
                         budget: int = 2 ** 20) -> np.ndarray:
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
