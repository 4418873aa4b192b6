"""The recall protocols on a split's classes, and :func:`evaluate_proposals`."""
import os
import warnings
from typing import Dict, List, Mapping, Sequence, Union

import numpy as np

from ...datasets.splits import SplitSpec, resolve_split
from .auc import oln_auc
from .average_recall import recall_from_arrays, xclass_recall_from_arrays
from .constants import AUC_AR1_ZERO_KEY, AUC_MAX_DETS, PROTOCOLS, SUBSETS
from .ground_truth import GroundTruth
from .matching import match_ranks_flat
from .ranking import rank_by_image
from .results import results_to_arrays

__all__ = ['evaluate_proposals', 'ks_beyond_proposals']


def _not_taken_by_other(gt: GroundTruth, det_img, det_boxes, det_scores,
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
    """The k to evaluate: ``ks``, plus :data:`~.constants.AUC_MAX_DETS` when max(ks) >= 1000.

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
      matches at every threshold (:func:`~.average_recall.xclass_recall_from_arrays`).
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
        protocol: One of :data:`~.constants.PROTOCOLS`.
        max_dets: The k values. When the largest is >= 1000, ``AUC`` (OLN's,
            :func:`~.auc.oln_auc`, with the measured AR@1) and
            ``AUC(AR@1=0)`` (OLN's published variant) are added.
        validate: Check coordinates and scores (see :func:`~.results.results_to_arrays`).
        progress: Passed to :func:`~.average_recall.recall_from_arrays`.

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
    gt = GroundTruth(coco)
    if isinstance(results, (str, os.PathLike)):  # a results file: read straight into arrays
        from .results_io import load_results
        det_img, det_boxes, det_scores = load_results(results, gt.image_ids,
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
    # ranking, IoU and matching pass; so do 'ignore' evaluations (each with its own
    # ignored boxes, side by side); 'prefilter' depends on the other boxes, so each
    # of its subsets (but one with every box) runs on its own.
    shared = [s for s in subsets if protocol == 'remove' or masks[s].all()]
    by_subset = {}
    if shared:
        by_subset.update(recall_from_arrays(
            n, gt.img, gt.boxes, gt.areas, gt.crowd, det_img, det_boxes, det_scores,
            max_dets=eval_ks, progress=progress, gt_subsets={s: masks[s] for s in shared}))
    xclass = [s for s in subsets if protocol == 'ignore' and s not in by_subset]
    if xclass:
        by_subset.update(xclass_recall_from_arrays(
            n, gt.img, gt.boxes, gt.areas, gt.crowd, {s: ~masks[s] for s in xclass}, det_img,
            det_boxes, det_scores, eval_ks, progress=progress))
    out: Dict[str, float] = {}
    for subset in subsets:
        m = masks[subset]
        if subset in by_subset:
            res = by_subset[subset]
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
        if ks[-1] >= AUC_MAX_DETS[-1]:  # also when ks holds every k of the AUC already
            ar_at = {k: res[f'AR@{k}'] for k in AUC_MAX_DETS}
            out[f'{subset}/AUC'] = oln_auc(ar_at)
            out[f'{subset}/{AUC_AR1_ZERO_KEY}'] = oln_auc(ar_at, ar1_zero=True)
    return out
