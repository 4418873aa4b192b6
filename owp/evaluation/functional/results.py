"""COCO results lists of proposals: validation, and conversion to flat arrays.

(:mod:`.results_io` reads results files straight into the same arrays.)
"""
import itertools
import math
import numbers
import operator
from typing import Mapping, Sequence

import numpy as np

__all__ = ['validate_results', 'results_to_arrays']


def _check_entry(r: Mapping, i: int, known, source: str) -> None:
    """Raise ``ValueError`` naming ``{source}[i]`` if the proposal is malformed."""
    where = f'{source}[{i}]'
    if not isinstance(r, Mapping):
        raise ValueError(f'{where}: expected a dict with image_id, bbox, score; got {r!r}')
    for key in ('image_id', 'bbox', 'score'):
        if key not in r:
            raise ValueError(f'{where}: missing {key!r} (entry: {dict(r)})')
    try:
        found = r['image_id'] in known
    except TypeError:  # unhashable, e.g. a list
        found = False
    if not found:
        raise ValueError(f"{where}: image_id {r['image_id']!r} is not in the annotation file")
    b = r['bbox']
    if not isinstance(b, (list, tuple)) or len(b) != 4 or \
            not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in b):
        raise ValueError(f'{where}: bbox {b!r} must be 4 finite numbers [x, y, w, h]')
    if b[2] <= 0 or b[3] <= 0:
        raise ValueError(f'{where}: bbox {b!r} has a width or height <= 0')
    s = r['score']
    if not isinstance(s, numbers.Real) or not math.isfinite(s):
        raise ValueError(f'{where}: score {s!r} is not a finite number')


def validate_results(results: Sequence[Mapping], image_ids: Sequence[int],
                     source: str = 'results') -> None:
    """Check a COCO results list of proposals; raise ``ValueError`` naming the bad entry.

    Rejected: an empty list, an entry without ``image_id``/``bbox``/``score``,
    an image id absent from the annotations, a non-finite coordinate or score,
    a width or height <= 0. ``category_id`` is not looked at (class-agnostic).
    This is the entry-by-entry reference; :func:`results_to_arrays` makes the
    same checks vectorised.
    """
    if len(results) == 0:
        raise ValueError(f'{source}: empty results list (no proposals to evaluate)')
    known = set(image_ids)
    for i, r in enumerate(results):
        _check_entry(r, i, known, source)


def results_to_arrays(results: Sequence[Mapping], image_ids: Sequence, validate: bool = True,
                      source: str = 'results'):
    """A COCO results list as flat arrays, checked as :func:`validate_results` does.

    Args:
        results: Dicts with ``image_id``, ``bbox`` (xywh) and ``score``.
        image_ids: The annotation file's image ids; their positions are the
            image indices returned.
        validate: Check coordinates and scores (finite, positive sizes) and
            refuse an empty list. Unknown image ids always fail.
        source: Name of the results in error messages.

    Returns:
        tuple: ``img`` (D,) int64 image index, ``boxes`` (D, 4) float64 xywh,
        ``scores`` (D,) float64, in input order.
    """
    n = len(results)
    if n == 0 and validate:
        raise ValueError(f'{source}: empty results list (no proposals to evaluate)')
    if n == 0:  # a model that proposed nothing: every target is missed
        return np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)
    known = np.asarray(image_ids)
    try:
        get = operator.itemgetter
        # exact types, or the slow path: no silent truncation of float ids or
        # parsing of numeric strings
        # (one pass over the dicts per field; the type check and the
        # conversion then read a list, which is cheaper than a second pass)
        ids = list(map(get('image_id'), results))
        if not set(map(type, ids)) <= {int}:
            raise TypeError('image ids that are not int')
        ids = np.fromiter(ids, np.int64, n)
        scores = list(map(get('score'), results))
        if validate and not set(map(type, scores)) <= {int, float}:
            raise TypeError('scores that are not numbers')
        scores = np.fromiter(scores, np.float64, n)
        bboxes = list(map(get('bbox'), results))
        if not set(map(type, bboxes)) <= {list, tuple}:
            raise TypeError('a bbox that is not a list')
        lens = np.fromiter(map(len, bboxes), np.int64, n)
        if (lens != 4).any():
            i = int(np.argmax(lens != 4))
            _check_entry(results[i], i, set(image_ids), source)
        if validate:
            # numpy would parse numeric strings; sum() refuses any non-number
            # (TypeError), at half the cost of checking every element's type
            sum(itertools.chain.from_iterable(bboxes))
        boxes = np.fromiter(itertools.chain.from_iterable(bboxes), np.float64,
                            4 * n).reshape(n, 4)
        if known.dtype.kind not in 'iu':
            raise TypeError('non-integer image ids')
    except (KeyError, TypeError, ValueError, OverflowError):
        # Slow path: name the bad entry, or convert ids that are not integers.
        validate_results(results, image_ids, source)
        index = {img_id: i for i, img_id in enumerate(image_ids)}
        img = np.array([index[r['image_id']] for r in results], np.int64)
        boxes = np.array([r['bbox'] for r in results], np.float64).reshape(n, 4)
        scores = np.array([r['score'] for r in results], np.float64)
        return img, boxes, scores
    sorter = np.argsort(known, kind='stable')
    pos = np.searchsorted(known, ids, sorter=sorter).clip(max=max(len(known) - 1, 0))
    img = sorter[pos] if len(known) else np.zeros(n, np.int64)
    bad = ~(known[img] == ids) if len(known) else np.ones(n, bool)
    if validate:
        bad |= ~np.isfinite(boxes).all(axis=1) | ~np.isfinite(scores)
        bad |= (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        _check_entry(results[i], i, set(image_ids), source)
        raise ValueError(f'{source}[{i}]: invalid proposal {results[i]!r}')
    return img, boxes, scores
