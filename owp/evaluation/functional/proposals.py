"""Proposal evaluation on COCO-format data: validation, splits, protocols, base AP."""
import contextlib
import io
import math
from collections import defaultdict
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ...datasets.splits import SplitSpec, resolve_split
from .recall import box_iou_xywh, class_agnostic_recall, greedy_match_ranks

__all__ = ['PROTOCOLS', 'SUBSETS', 'validate_results', 'evaluate_proposals', 'base_class_ap']

PROTOCOLS = ('remove', 'ignore')
SUBSETS = ('novel', 'base', 'all')


def validate_results(results: Sequence[Mapping], image_ids: Sequence[int],
                     source: str = 'results') -> None:
    """Check a COCO results list of proposals; raise ``ValueError`` naming the bad entry.

    Rejected: an empty list, an entry without ``image_id``/``bbox``/``score``,
    an image id absent from the annotations, a non-finite coordinate or score,
    a width or height <= 0. ``category_id`` is not looked at (class-agnostic).
    """
    if len(results) == 0:
        raise ValueError(f'{source}: empty results list (no proposals to evaluate)')
    known = set(image_ids)
    for i, r in enumerate(results):
        where = f'{source}[{i}]'
        for key in ('image_id', 'bbox', 'score'):
            if key not in r:
                raise ValueError(f'{where}: missing {key!r} (entry: {dict(r)})')
        if r['image_id'] not in known:
            raise ValueError(f"{where}: image_id {r['image_id']!r} is not in the annotation "
                             'file')
        b = r['bbox']
        if len(b) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in b):
            raise ValueError(f'{where}: bbox {b!r} must be 4 finite numbers [x, y, w, h]')
        if b[2] <= 0 or b[3] <= 0:
            raise ValueError(f'{where}: bbox {b!r} has a width or height <= 0')
        s = r['score']
        if not isinstance(s, (int, float)) or not math.isfinite(s):
            raise ValueError(f'{where}: score {s!r} is not a finite number')


def _group_gts(coco: Mapping, cat_ids: Optional[set]):
    """Per image: boxes, areas, crowd flags, cat ids in COCO order (category, file order)."""
    by_img = defaultdict(list)
    for a in coco['annotations']:
        if cat_ids is None or a['category_id'] in cat_ids:
            by_img[a['image_id']].append(a)
    out = {}
    for img_id, anns in by_img.items():
        anns = sorted(anns, key=lambda a: a['category_id'])  # stable: file order kept
        out[img_id] = (np.array([a['bbox'] for a in anns], np.float64).reshape(-1, 4),
                       np.array([a.get('area', a['bbox'][2] * a['bbox'][3]) for a in anns],
                                np.float64),
                       np.array([bool(a.get('iscrowd', 0)) for a in anns]),
                       np.array([a['category_id'] for a in anns], np.int64))
    return out


_EMPTY = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, bool), np.zeros(0, np.int64))


def _drop_base_matched(gts, dets_by_img, base_ids: set, chunk: int = 1000):
    """OLN's protocol: drop proposals that greedy matching at IoU 0.5 gives to a base box."""
    img_ids = list(dets_by_img)
    out = {}
    for lo in range(0, len(img_ids), chunk):
        ids = img_ids[lo:lo + chunk]
        boxes, scores, gtb, target, isbase = [], [], [], [], []
        for i in ids:
            b, s = dets_by_img[i]
            order = np.argsort(-s, kind='mergesort')
            boxes.append(b[order])
            scores.append(s[order])
            g, _, crowd, cats = gts.get(i, _EMPTY)
            gtb.append(g)
            target.append(~crowd)
            isbase.append(np.isin(cats, list(base_ids)))
        dmax = max(len(b) for b in boxes)
        gmax = max((len(g) for g in gtb), default=0)
        for j, i in enumerate(ids):
            out[i] = (boxes[j], scores[j])
        if gmax == 0 or dmax == 0:
            continue
        dets = np.zeros((len(ids), dmax, 4))
        valid = np.zeros((len(ids), dmax), bool)
        gpad = np.zeros((len(ids), gmax, 4))
        tpad = np.zeros((len(ids), 1, gmax), bool)
        for j in range(len(ids)):
            dets[j, :len(boxes[j])] = boxes[j]
            valid[j, :len(boxes[j])] = True
            gpad[j, :len(gtb[j])] = gtb[j]
            tpad[j, 0, :len(gtb[j])] = target[j]
        ranks = greedy_match_ranks(box_iou_xywh(dets, gpad), valid, tpad, np.array([0.5]))
        for j, i in enumerate(ids):
            r = ranks[j, 0, 0, :len(gtb[j])]
            taken = r[isbase[j] & (r < dmax)]
            keep = np.ones(len(boxes[j]), bool)
            keep[taken] = False
            out[i] = (boxes[j][keep], scores[j][keep])
    return out


def evaluate_proposals(coco: Mapping, results: Sequence[Mapping], split: SplitSpec,
                       subsets: Sequence[str] = ('novel', ), protocol: str = 'remove',
                       max_dets: Sequence[int] = (10, 100), validate: bool = True,
                       progress=None) -> Dict[str, float]:
    """Class-agnostic recall of proposals on the base/novel/all classes of a split.

    Args:
        coco: A COCO/LVIS annotation dict (all classes).
        results: COCO results list (``image_id``, ``bbox`` xywh, ``score``);
            ``category_id`` is ignored.
        split: Split name, split file or dict (see :mod:`owp.datasets.splits`).
        subsets: Which classes are recall targets: 'novel', 'base', 'all'.
        protocol: 'remove' (paper: other classes' boxes removed) or 'ignore'
            (OLN: measuring novel, a proposal that greedy matching at IoU 0.5
            gives to a base box is dropped before the top-k budget).
        max_dets: The k values.
        validate: Check ``results`` with :func:`validate_results`.
        progress: Passed to :func:`class_agnostic_recall`.

    Returns:
        dict: ``{subset}/AR@k``, ``{subset}/ARs@K`` ... keyed by the real k.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
    bad = [s for s in subsets if s not in SUBSETS]
    if bad:
        raise ValueError(f'subsets must be among {SUBSETS}, got {bad}')
    image_ids = [im['id'] for im in coco['images']]
    if validate:
        validate_results(results, image_ids)
    sp = resolve_split(split, coco['categories'])
    dets_by_img = defaultdict(list)
    for r in results:
        dets_by_img[r['image_id']].append(r)
    dets = {i: (np.array([r['bbox'] for r in rs], np.float64).reshape(-1, 4),
                np.array([r['score'] for r in rs], np.float64)) for i, rs in dets_by_img.items()}
    out: Dict[str, float] = {}
    for subset in subsets:
        use = dets
        if protocol == 'ignore' and subset == 'novel':
            use = _drop_base_matched(_group_gts(coco, None), dets, set(sp.base_ids))
        gts = _group_gts(coco, set(sp.ids(subset)))
        g = [gts.get(i, _EMPTY) for i in image_ids]
        d = [use.get(i, (np.zeros((0, 4)), np.zeros(0))) for i in image_ids]
        res = class_agnostic_recall([x[0] for x in g], [x[1] for x in g], [x[2] for x in g],
                                    [x[0] for x in d], [x[1] for x in d], max_dets=max_dets,
                                    progress=progress)
        for k, v in res.items():
            if k != 'num_targets':
                out[f'{subset}/{k}'] = v
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
