"""Ranking diagnostics: does a model's score put its best-localised proposals first?

:func:`collect_candidates` runs a model on a dataset and keeps every candidate box that
reaches the final NMS, with its score components (``with_score_components``); for a
two-stage model (OLN-Box) also the RPN's proposals as the RoI head sees them.
:func:`rank_candidates` then scores those candidates any way (the model's own score, one
component, or the 'oracle': each candidate's best IoU itself, the best any score could
do with these boxes), applies NMS, and measures:

* AR@k on the novel and base classes (:func:`owp.evaluation.evaluate_proposals`,
  ``'remove'``, as the studies);
* Spearman's rank correlation between the score and each candidate's best IoU with any
  base or novel ground-truth box, over all candidates, over those near an object (best
  IoU >= ``near_iou``: the localisation quality the score is trained to rank) and over
  the boxes kept;
* the score histograms of kept boxes that hit a box (best IoU >= ``iou_thr``) and of
  those that hit none;
* what each image's first k kept boxes are: a new object, a duplicate of an object
  already found, or a miss (:func:`top_k_breakdown`).

``scripts/ranking_diagnostics.py`` is the command line.
"""
import math
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

__all__ = ['SCORINGS', 'collect_candidates', 'ground_truth_ious', 'hit_histograms',
           'rank_candidates', 'spearman', 'top_k_breakdown']


def _geometric(c: Mapping[str, np.ndarray]) -> np.ndarray:
    """OLN's sqrt(centerness * iou) of (N,) components: numpy twin of
    ``owp.models.utils.oln.geometric_mean`` (``owp.analysis`` loads no torch)."""
    return np.sqrt(np.clip(c['centerness'] * c['iou'], 0, None))


#: Scorings of candidates by name: ``(needed components, function of the components)``.
#: ``'score'`` is the model's own; ``'oracle'`` is each candidate's best IoU with any box.
SCORINGS: Dict[str, tuple] = {
    'score': (('score', ), lambda c: c['score']),
    'centerness': (('centerness', ), lambda c: c['centerness']),
    'iou': (('iou', ), lambda c: c['iou']),
    'sqrt(centerness*iou)': (('centerness', 'iou'), _geometric),
    'oracle': (('best_iou', ), lambda c: c['best_iou']),
}


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (ties get their average rank).

    Args:
        x: (N,) values.
        y: (N,) values.

    Returns:
        float: in [-1, 1]; NaN for fewer than 2 values or a constant input.
    """
    from scipy.stats import spearmanr
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if len(x) != len(y):
        raise ValueError(f'spearman: {len(x)} and {len(y)} values')
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def hit_histograms(scores: np.ndarray, best_iou: np.ndarray, iou_thr: float = 0.5,
                   bins: int = 10) -> dict:
    """Score histograms of boxes that hit a ground-truth box and of those that don't.

    Args:
        scores: (N,) scores in [0, 1].
        best_iou: (N,) each box's best IoU with any ground-truth box.
        iou_thr: A box hits when its best IoU is >= this.
        bins: Equal bins over [0, 1].

    Returns:
        dict: ``edges`` (bins + 1,), ``hit`` and ``miss`` counts (bins,), as lists.
    """
    scores, best_iou = np.asarray(scores, np.float64), np.asarray(best_iou, np.float64)
    edges = np.linspace(0, 1, bins + 1)
    hit = best_iou >= iou_thr
    clipped = np.clip(scores, 0, 1)
    return dict(edges=edges.tolist(),
                hit=np.histogram(clipped[hit], edges)[0].tolist(),
                miss=np.histogram(clipped[~hit], edges)[0].tolist())


def top_k_breakdown(ious: np.ndarray, k: int, iou_thr: float = 0.5,
                    novel: Optional[np.ndarray] = None) -> Dict[str, int]:
    """What an image's first ``k`` boxes are, in order: new objects, duplicates, misses.

    A box takes the unfound ground-truth box of highest IoU >= ``iou_thr`` (COCO's
    greedy matching at one threshold): a *new* object. A box whose every such box is
    already found is a *duplicate*; a box with none is a *miss*.

    Args:
        ious: (P, G) IoU of the image's boxes, best score first, with its G boxes.
        k: How many boxes to look at.
        iou_thr: The IoU of a hit.
        novel: (G,) bool, which boxes are novel (counts ``new_novel``).

    Returns:
        dict: ``new``, ``duplicate``, ``miss`` (summing to min(k, P)), ``new_novel``.
    """
    ious = np.asarray(ious, np.float64).reshape(len(ious), -1)
    found = np.zeros(ious.shape[1], bool)
    out = dict(new=0, duplicate=0, miss=0, new_novel=0)
    for row in ious[:k]:
        ok = row >= iou_thr
        if not ok.any():
            out['miss'] += 1
            continue
        free = ok & ~found
        if not free.any():
            out['duplicate'] += 1
            continue
        g = int(np.argmax(np.where(free, row, -1.0)))
        found[g] = True
        out['new'] += 1
        out['new_novel'] += int(novel is not None and bool(novel[g]))
    return out


def ground_truth_ious(coco: Mapping, split, bboxes_by_image: Mapping[int, np.ndarray]
                      ) -> Dict[int, dict]:
    """Each image's boxes' IoU with its base and novel ground truth (non-crowd).

    Args:
        coco: The annotation dict (all classes).
        split: Split name, file or dict (:func:`owp.datasets.splits.resolve_split`).
        bboxes_by_image: ``{image id: (P, 4) xyxy boxes}``.

    Returns:
        dict: ``{image id: dict(ious=(P, G), novel=(G,) bool)}``, IoU as the evaluator
        computes it (:func:`owp.evaluation.functional.box_iou_xywh`).
    """
    from ..datasets.splits import resolve_split
    from ..evaluation.functional import box_iou_xywh
    sp = resolve_split(split, coco['categories'])
    targets = set(sp.base_ids) | set(sp.novel_ids)
    gts: Dict[int, list] = {}
    for a in coco['annotations']:
        if a['category_id'] in targets and not a.get('iscrowd', 0):
            gts.setdefault(a['image_id'], []).append((a['bbox'], a['category_id'] in
                                                      sp.novel_ids))
    out = {}
    for img_id, boxes in bboxes_by_image.items():
        g = gts.get(img_id, [])
        gt_xywh = np.array([b for b, _ in g], np.float64).reshape(-1, 4)
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
        ious = (box_iou_xywh(xywh, gt_xywh) if len(b) and len(g)
                else np.zeros((len(b), len(g))))
        out[img_id] = dict(ious=ious, novel=np.array([n for _, n in g], bool))
    return out


def _nms_keep(bboxes: np.ndarray, scores: np.ndarray, nms_thr: Optional[float]) -> np.ndarray:
    """Indices kept by class-agnostic NMS (all, if ``nms_thr`` is None), best first."""
    import torch
    from mmcv.ops import nms
    order = np.argsort(-scores, kind='stable')
    if nms_thr is None or len(scores) == 0:
        return order
    _, keep = nms(torch.as_tensor(bboxes[order], dtype=torch.float32),
                  torch.as_tensor(scores[order], dtype=torch.float32), float(nms_thr))
    return order[keep.numpy()]


def rank_candidates(candidates: Sequence[dict], coco: Mapping, split, scoring: str = 'score',
                    nms_thr: Optional[float] = None, max_dets: Sequence[int] = (10, 100),
                    iou_thr: float = 0.5, bins: int = 10, near_iou: float = 0.3) -> dict:
    """Score, NMS and evaluate one stage's candidates (see the module docstring).

    Args:
        candidates: Per image, ``dict(img_id, bboxes (P, 4) xyxy, score (P,), ...)``
            with any components, as :func:`collect_candidates` returns them.
        coco: The annotation dict (all classes).
        split: Split name, file or dict.
        scoring: A key of :data:`SCORINGS`.
        nms_thr: Class-agnostic NMS IoU threshold; None: no NMS.
        max_dets: The k of AR@k; the largest also cuts the kept boxes of each image.
        iou_thr: The IoU of a hit (histograms, breakdown).
        bins: Histogram bins over [0, 1].
        near_iou: Best IoU from which a candidate counts as near an object.

    Returns:
        dict: ``ar`` (``novel/AR@k``, ``base/AR@k``), ``spearman_all``,
        ``spearman_near`` and ``spearman_kept`` (score vs best IoU: all candidates,
        those near an object, the kept boxes), ``histograms`` (of the kept boxes),
        ``top{k}`` (mean per image of :func:`top_k_breakdown` at the smallest k),
        ``kept_per_image``.
    """
    from ..evaluation.functional.protocols import evaluate_proposals
    if scoring not in SCORINGS:
        raise ValueError(f'rank_candidates: scoring={scoring!r}: expected one of '
                         f'{list(SCORINGS)}')
    needed, fn = SCORINGS[scoring]
    gt = ground_truth_ious(coco, split, {c['img_id']: c['bboxes'] for c in candidates})
    k_max, k_min = max(max_dets), min(max_dets)
    dets, all_s, all_iou, kept_s, kept_iou = [], [], [], [], []
    breakdown = dict(new=0, duplicate=0, miss=0, new_novel=0)
    for c in candidates:
        g = gt[c['img_id']]
        best = g['ious'].max(1) if g['ious'].shape[1] else np.zeros(len(c['bboxes']))
        comps = dict(c, best_iou=best)
        missing = [n for n in needed if n not in comps]
        if missing:
            raise ValueError(f'rank_candidates: scoring={scoring!r} needs {missing}, which '
                             f'these candidates lack (they have {sorted(c)})')
        s = np.asarray(fn(comps), np.float64)
        keep = _nms_keep(c['bboxes'], s, nms_thr)[:k_max]
        all_s.append(s), all_iou.append(best)
        kept_s.append(s[keep]), kept_iou.append(best[keep])
        b = c['bboxes'][keep]
        for box, score in zip(b.tolist(), s[keep].tolist()):
            dets.append(dict(image_id=c['img_id'], score=score,
                             bbox=[box[0], box[1], box[2] - box[0], box[3] - box[1]]))
        for key, v in top_k_breakdown(g['ious'][keep], k_min, iou_thr, g['novel']).items():
            breakdown[key] += v
    n = max(len(candidates), 1)
    # only the images the candidates come from: the others' boxes would count as misses
    seen = set(gt)
    coco = dict(coco, images=[im for im in coco['images'] if im['id'] in seen],
                annotations=[a for a in coco['annotations'] if a['image_id'] in seen])
    ar = evaluate_proposals(coco, dets, split, ('novel', 'base'), 'remove', max_dets,
                            validate=False)
    kept_s, kept_iou = np.concatenate(kept_s), np.concatenate(kept_iou)
    all_s, all_iou = np.concatenate(all_s), np.concatenate(all_iou)
    near = all_iou >= near_iou
    return dict(
        ar={k: v for k, v in ar.items() if '/AR@' in k},
        spearman_all=spearman(all_s, all_iou),
        spearman_near=spearman(all_s[near], all_iou[near]),
        spearman_kept=spearman(kept_s, kept_iou),
        histograms=hit_histograms(kept_s, kept_iou, iou_thr, bins),
        **{f'top{k_min}': {k: v / n for k, v in breakdown.items()}},
        kept_per_image=len(dets) / n)


def _final_test_cfgs(model) -> List:
    """The test configs that decide the final boxes: roi_head's, else the dense head's."""
    if getattr(model, 'roi_head', None) is not None:
        return [model.roi_head.test_cfg]
    head = getattr(model, 'bbox_head', None) or getattr(model, 'rpn_head', None)
    if head is None or head.test_cfg is None:
        raise ValueError(f'collect_candidates: {type(model).__name__} has no roi_head, '
                         'bbox_head or rpn_head with a test_cfg')
    return [head.test_cfg]


def collect_candidates(model, dataloader, max_images: Optional[int] = None,
                       progress: Optional[Callable[[int], None]] = None
                       ) -> Dict[str, List[dict]]:
    """Every candidate of the final NMS, with its score components, on a dataset.

    The model's final test config is switched to no NMS, no cut,
    ``with_score_components=True`` (its ``score_mode`` stays: ``score`` is the model's
    own score); boxes are in the original image's coordinates.

    Args:
        model: A detector in eval mode (one-stage ``OWPFCOSHead``, OLN-Box, or an RPN).
        dataloader: Its test dataloader.
        max_images: Stop after this many images.
        progress: Called with the number of images done.

    Returns:
        dict: ``{'final': [...]}``, plus ``'rpn'`` for a two-stage model (the RPN's
        proposals as its test config gives them to the RoI head, ``score`` and
        ``centerness`` = the RPN's objectness). Per image: ``img_id``, ``bboxes``
        (P, 4) xyxy, ``score`` (P,), and each component the head attached.
    """
    import torch

    from ..models import OLNRPNHead
    for cfg in _final_test_cfgs(model):
        cfg.nms = None
        cfg.max_per_img = 1 << 30
        cfg.with_score_components = True
    two_stage = getattr(model, 'roi_head', None) is not None
    # an OLN-RPN alone scores its proposals by its centerness objectness
    rpn_only = (not two_stage and getattr(model, 'bbox_head', None) is None
                and isinstance(getattr(model, 'rpn_head', None), OLNRPNHead))
    out: Dict[str, List[dict]] = {'final': []}
    if two_stage:
        out['rpn'] = []
    done = 0
    with torch.no_grad():
        for batch in dataloader:
            data = model.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            if two_stage:
                x = model.extract_feat(inputs)
                rpn = model.rpn_head.predict(x, samples, rescale=False)
                final = model.roi_head.predict(x, rpn, samples, rescale=True)
                for r, s in zip(rpn, samples):
                    scale = r.bboxes.new_tensor(s.metainfo['scale_factor']).repeat(2)
                    out['rpn'].append(dict(
                        img_id=int(s.metainfo['img_id']),
                        bboxes=(r.bboxes / scale).numpy().astype(np.float64),
                        score=r.scores.numpy().astype(np.float64),
                        centerness=r.scores.numpy().astype(np.float64)))
            else:
                final = [s.pred_instances for s in model.predict(inputs, samples)]
            for r, s in zip(final, samples):
                row = dict(img_id=int(s.metainfo['img_id']),
                           bboxes=r.bboxes.numpy().astype(np.float64),
                           score=r.scores.numpy().astype(np.float64))
                for k in ('cls_prob', 'centerness', 'iou'):
                    if k in r:
                        row[k] = r.get(k).numpy().astype(np.float64)
                if rpn_only:
                    row['centerness'] = row['score']
                out['final'].append(row)
            done += len(samples)
            if progress is not None:
                progress(done)
            if max_images is not None and done >= max_images:
                break
    return out
