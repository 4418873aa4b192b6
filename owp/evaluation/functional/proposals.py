"""Proposal evaluation on COCO-format data: validation, splits, protocols, base AP."""
import contextlib
import io
import itertools
import math
import numbers
import operator
import os
import warnings
from typing import Dict, List, Mapping, Sequence, Union

import numpy as np

from ...datasets.splits import SplitSpec, resolve_split
from .recall import (
    AUC_MAX_DETS,
    match_ranks_flat,
    oln_auc,
    rank_by_image,
    recall_from_arrays,
    xclass_recall_from_arrays,
)

__all__ = ['PROTOCOLS', 'SUBSETS', 'OLN_MAX_DETS', 'AUC_AR1_ZERO_KEY', 'validate_results',
           'results_to_arrays', 'evaluate_proposals', 'base_class_ap', 'ks_beyond_proposals']

#: 'remove': pycocotools on the subset's boxes alone (the paper's protocol).
#: 'ignore': OLN's cross-category protocol (``COCOEvalXclassWrapper``), exactly.
#: 'prefilter': owp's former 'ignore' rule (see :func:`evaluate_proposals`).
PROTOCOLS = ('remove', 'ignore', 'prefilter')
SUBSETS = ('novel', 'base', 'all')
#: OLN's k list (``proposal_nums`` of its ``CocoSplitDataset.evaluate``).
OLN_MAX_DETS = (10, 20, 30, 50, 100, 300, 500, 1000, 1500)
#: Key of the AUC with AR@1 set to 0, as in OLN's published 24.8.
AUC_AR1_ZERO_KEY = 'AUC(AR@1=0)'


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


class _GroundTruth:
    """An annotation file's boxes as flat arrays, by image then COCO order."""

    def __init__(self, coco: Mapping):
        self.image_ids = [im['id'] for im in coco['images']]
        index = {img_id: i for i, img_id in enumerate(self.image_ids)}
        if len(index) != len(self.image_ids):  # index kept the last of each duplicate
            i = next(i for i, img_id in enumerate(self.image_ids) if index[img_id] != i)
            img_id = self.image_ids[i]
            raise ValueError(f'images[{i}] and images[{index[img_id]}]: image id {img_id!r} '
                             'appears twice in the annotation file')
        anns = coco['annotations']
        img = np.empty(len(anns), np.int64)
        for j, a in enumerate(anns):
            try:
                img[j] = index[a['image_id']]
            except KeyError:
                raise ValueError(f"annotations[{j}] (id {a.get('id')!r}): image_id "
                                 f"{a.get('image_id')!r} is not among the file's images") from None
        boxes = np.array([a['bbox'] for a in anns], np.float64).reshape(-1, 4)
        areas = np.array([a['area'] if 'area' in a else a['bbox'][2] * a['bbox'][3]
                          for a in anns], np.float64)
        crowd = np.array([bool(a.get('iscrowd', 0)) for a in anns], bool)
        cats = np.array([a['category_id'] for a in anns], np.int64)
        # pycocotools' per-image order with useCats=0: by category id, then file order
        order = np.lexsort((np.arange(len(anns)), cats, img))
        self.img, self.boxes, self.areas = img[order], boxes[order], areas[order]
        self.crowd, self.cats = crowd[order], cats[order]


def _not_taken_by_other(gt: _GroundTruth, det_img, det_boxes, det_scores,
                        other: np.ndarray) -> np.ndarray:
    """The 'prefilter' rule: (D,) bool, False for proposals that greedy matching at
    IoU 0.5 over all non-crowd boxes (every box competing alike, no cut) gives to
    a box of another class subset (``other``, (G,) bool)."""
    order = rank_by_image(det_img, det_scores)
    _, det_gt = match_ranks_flat(len(gt.image_ids), gt.img, gt.boxes, (~gt.crowd)[:, None],
                                 det_img[order], det_boxes[order], np.array([0.5]),
                                 with_det_gt=True)
    took = det_gt[:, 0, 0]
    taken = np.zeros(len(det_img), bool)
    if len(gt.cats) == 0:
        return ~taken
    taken[order] = (took >= 0) & other[took.clip(min=0)]
    return ~taken


def ks_beyond_proposals(det_img: np.ndarray, max_dets: Sequence[int]) -> List[int]:
    """The k larger than the most proposals any image has (their AR@k = AR@max).

    Args:
        det_img: (D,) image index of each proposal.
        max_dets: The k values.

    Returns:
        list: those k, sorted; empty when some image has at least max(k)
        proposals, or when there are no proposals at all.
    """
    det_img = np.asarray(det_img, np.int64)
    most = int(np.bincount(det_img).max()) if det_img.size else 0
    return sorted(int(k) for k in set(max_dets) if most and k > most)


def _with_auc(ks: Sequence[int]) -> List[int]:
    """The k to evaluate: ``ks``, plus :data:`AUC_MAX_DETS` when max(ks) >= 1000.

    Adding k below the largest never changes any AR@k (every protocol cuts
    at the largest k first), so the AUC comes for free.
    """
    ks = sorted({int(k) for k in ks})
    return sorted(set(ks) | set(AUC_MAX_DETS)) if ks[-1] >= AUC_MAX_DETS[-1] else ks


def evaluate_proposals(coco: Mapping, results: Union[Sequence[Mapping], str, os.PathLike],
                       split: SplitSpec,
                       subsets: Sequence[str] = ('novel', ), protocol: str = 'remove',
                       max_dets: Sequence[int] = (10, 100), validate: bool = True,
                       progress=None) -> Dict[str, float]:
    """Class-agnostic recall of proposals on the base/novel/all classes of a split.

    Protocols, for the subset S being evaluated (its boxes are the targets):

    * ``'remove'``: the boxes of the other classes are removed from the images;
      pycocotools' ``COCOeval`` (``useCats=0``) exactly. The paper's protocol.
    * ``'ignore'``: OLN's ``COCOEvalXclassWrapper`` with ``eval_class`` = S,
      exactly: the other classes' boxes stay as ignored boxes, and a proposal
      that greedy matching at IoU 0.5 sends to one of them (only possible when
      it finds no target) is removed after the cut at the largest k, with its
      matches at every threshold (:func:`~.recall.xclass_recall_from_arrays`).
      Measures what GGN, GOOD, LDET and UDOS tables report.
    * ``'prefilter'``: owp's former ``'ignore'`` rule: proposals that greedy
      matching at IoU 0.5 over all non-crowd boxes alike gives to another
      class's box are dropped from the whole list before anything else, then
      ``'remove'``. Unlike OLN's, its AR@k does not depend on the largest k.

    For ``'all'`` every protocol is ``'remove'`` (no other class).

    Args:
        coco: A COCO/LVIS annotation dict (all classes).
        results: COCO results list (``image_id``, ``bbox`` xywh, ``score``;
            ``category_id`` is ignored), or the path of a results JSON file
            (read by :func:`~owp.evaluation.functional.results_io.load_results`:
            same arrays, same checks, far faster than ``json.load``).
        split: Split name, split file or dict (see :mod:`owp.datasets.splits`).
        subsets: Which classes are recall targets: 'novel', 'base', 'all'.
        protocol: One of :data:`PROTOCOLS`.
        max_dets: The k values. When the largest is >= 1000, ``AUC`` (OLN's,
            :func:`~.recall.oln_auc`, with the measured AR@1) and
            ``AUC(AR@1=0)`` (OLN's published variant) are added.
        validate: Check coordinates and scores (see :func:`results_to_arrays`).
        progress: Passed to :func:`recall_from_arrays`.

    Returns:
        dict: ``{subset}/AR@k``, ``{subset}/ARs@K`` ... keyed by the real k,
        and ``{subset}/AUC`` ... as above.

    Warns:
        UserWarning: when some k exceeds the most proposals of any image.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
    bad = [s for s in subsets if s not in SUBSETS]
    if bad:
        raise ValueError(f'subsets must be among {SUBSETS}, got {bad}')
    gt = _GroundTruth(coco)
    if isinstance(results, (str, os.PathLike)):  # a results file: read straight into arrays
        from .results_io import load_results
        det_img, det_boxes, det_scores = load_results(os.fspath(results), gt.image_ids,
                                                      validate)
    else:
        det_img, det_boxes, det_scores = results_to_arrays(results, gt.image_ids, validate)
    beyond = ks_beyond_proposals(det_img, max_dets)
    if beyond:
        most = int(np.bincount(det_img).max())
        warnings.warn(f'max_dets {beyond} exceed the most proposals of any image ({most}): '
                      f'AR@k for those k equals AR@{most} (does the model keep only '
                      f'max_per_img={most} proposals per image?)', stacklevel=2)
    sp = resolve_split(split, coco['categories'])
    ks = sorted({int(k) for k in max_dets})
    eval_ks = _with_auc(ks)
    n = len(gt.image_ids)
    masks = {subset: np.isin(gt.cats, list(sp.ids(subset))) for subset in subsets}
    # Subsets measured on the same proposals against their own boxes alone share one
    # ranking, IoU and matching pass; 'ignore' and 'prefilter' depend on the other
    # boxes, so each of their subsets (but one with every box) runs on its own.
    shared = [s for s in subsets if protocol == 'remove' or masks[s].all()]
    by_subset = {}
    if shared:
        by_subset.update(recall_from_arrays(
            n, gt.img, gt.boxes, gt.areas, gt.crowd, det_img, det_boxes, det_scores,
            max_dets=eval_ks, progress=progress, gt_subsets={s: masks[s] for s in shared}))
    out: Dict[str, float] = {}
    for subset in subsets:
        m = masks[subset]
        if subset in by_subset:
            res = by_subset[subset]
        elif protocol == 'ignore':
            res = xclass_recall_from_arrays(n, gt.img, gt.boxes, gt.areas, gt.crowd, ~m, det_img,
                                            det_boxes, det_scores, eval_ks, progress=progress)
        else:  # prefilter
            keep = _not_taken_by_other(gt, det_img, det_boxes, det_scores, ~m)
            res = recall_from_arrays(n, gt.img[m], gt.boxes[m], gt.areas[m], gt.crowd[m],
                                     det_img[keep], det_boxes[keep], det_scores[keep],
                                     max_dets=eval_ks, progress=progress)
        for k in eval_ks:
            if k in ks:
                out[f'{subset}/AR@{k}'] = res[f'AR@{k}']
        for k, v in res.items():
            if not k.startswith('AR@') and k != 'num_targets':
                out[f'{subset}/{k}'] = v
        if eval_ks != ks:
            ar_at = {k: res[f'AR@{k}'] for k in AUC_MAX_DETS}
            out[f'{subset}/AUC'] = oln_auc(ar_at)
            out[f'{subset}/{AUC_AR1_ZERO_KEY}'] = oln_auc(ar_at, ar1_zero=True)
    return out


def base_class_ap(coco: Mapping, results: Sequence[Mapping], base_ids: Sequence[int]
                  ) -> Dict[str, float]:
    """Class-aware COCO bbox AP on the base classes (pycocotools).

    ``results`` carry ``category_id`` = the file's category id of the label.
    Returns ``base/AP``, ``base/AP50``, ``base/AP75`` (0 when there are no
    detections at all).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    dets = [r for r in results if r['category_id'] in set(base_ids)]
    if not dets:
        return {'base/AP': 0.0, 'base/AP50': 0.0, 'base/AP75': 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = dict(coco)
        # LVIS boxes have no iscrowd, which COCOeval reads
        gt.dataset['annotations'] = [a if 'iscrowd' in a else dict(a, iscrowd=0)
                                     for a in coco['annotations']]
        gt.dataset.setdefault('info', {})
        gt.createIndex()
        dt = gt.loadRes([dict(r) for r in dets])
        ev = COCOeval(gt, dt, 'bbox')
        ev.params.catIds = sorted(base_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {'base/AP': float(ev.stats[0]), 'base/AP50': float(ev.stats[1]),
            'base/AP75': float(ev.stats[2])}
