"""Flat per-dataset arrays regrouped into padded batches of images, heaviest first."""
import os

import numpy as np

from .ranking import positions_in_runs, stable_argsort_indices

__all__ = ['default_threads']


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
            rank order within each image (see :func:`~.ranking.rank_by_image`).
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

