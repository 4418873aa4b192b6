"""Orders of proposals: by image then score (pycocotools' stable sort), fast."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ['RANK_BLOCK', 'positions_in_runs', 'rank_by_image', 'rank_by_image_blocked',
           'stable_argsort_floats', 'stable_argsort_indices']

#: Proposals per block of :func:`rank_by_image_blocked` (whole images per block).
RANK_BLOCK = 1 << 15


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


def rank_by_image_blocked(det_img: np.ndarray, det_scores: np.ndarray,
                          block: int = RANK_BLOCK, threads: int = 1) -> np.ndarray:
    """:func:`rank_by_image`, the same order, sorted in blocks of whole images.

    The images are cut into consecutive ranges of about ``block`` proposals;
    each range is ranked on its own (smaller sorts, in cache), on ``threads``
    threads (numpy's sorts release the GIL), and the ranges follow each other
    since they hold increasing image indices. Within a range the proposals
    keep their input order, so ties still do.

    Args:
        det_img: (D,) non-negative image index of each proposal.
        det_scores: (D,) scores.
        block: Proposals per range (an image larger than that is a range alone).
        threads: Ranges sorted at once.

    Returns:
        np.ndarray: (D,) int64 permutation, ``rank_by_image(det_img, det_scores)``.
    """
    det_img = np.asarray(det_img, np.int64)
    det_scores = np.asarray(det_scores, np.float64)
    n = det_img.size
    if n <= block or det_img.min() < 0:
        return rank_by_image(det_img, det_scores)
    count = np.bincount(det_img)
    ends = np.cumsum(count)  # (N,) proposals up to and with each image
    # last image of each range: where the running count passes a multiple of block
    cut = np.unique(np.searchsorted(ends, np.arange(block, n, block)))
    part = np.searchsorted(cut, np.arange(count.size))  # (N,) range of each image
    bounds = np.concatenate([[0], ends[cut[cut < count.size - 1]], [n]])
    if (np.diff(det_img) >= 0).all():  # already by image: ranges are slices
        members = None
    else:  # by range, input order kept within a range (one radix pass)
        members = stable_argsort_indices(part[det_img])

    def rank(r: int) -> np.ndarray:
        lo, hi = bounds[r], bounds[r + 1]
        idx = np.arange(lo, hi) if members is None else members[lo:hi]
        return idx[rank_by_image(det_img[idx], det_scores[idx])]

    ranges = range(len(bounds) - 1)
    if threads > 1 and len(ranges) > 1:
        with ThreadPoolExecutor(threads) as ex:
            return np.concatenate(list(ex.map(rank, ranges)))
    return np.concatenate([rank(r) for r in ranges])


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

