"""OWPScoreDump: every proposal's score, labelled by the novel/base object it hits.

An mmengine metric, beside :class:`OWPRecallMetric` in ``test_evaluator`` (as
mmdet keeps ``DumpProposals`` beside its metrics). Run the model with
``test_cfg.with_score_components=True`` so that every proposal also carries its
``cls_prob`` (the sigmoid probability of its class), ``centerness`` and ``iou``.
It writes an ``.npz`` file with one row per proposal and, for each proposal, its
best IoU with a novel and with a base ground-truth box of the full annotation
file. Novel and base mean what they mean to the recall metric: the same
``split``, resolved by :func:`owp.datasets.splits.resolve_split`, and the same
IoU (:func:`owp.evaluation.functional.box_iou_xywh`, pycocotools'); crowd boxes
and boxes of classes in neither side of the split are no one's target. The
score histograms (paper fig. 5) are drawn from this file
(:func:`owp.analysis.plot_score_histograms`).
"""
import json
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path

from ...datasets.splits import SplitSpec, resolve_split
from ..functional import box_iou_xywh
from ..functional.score_dump_io import load_score_dump  # re-exported: the dump's reader

__all__ = ['OWPScoreDump', 'SCORE_COMPONENTS', 'best_iou', 'load_score_dump']

#: Per-proposal fields the head attaches with ``with_score_components=True``.
SCORE_COMPONENTS = ('cls_prob', 'centerness', 'iou')


def best_iou(proposals: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Each proposal's best IoU with any of ``boxes`` (the evaluator's IoU).

    Args:
        proposals: (P, 4) boxes, xyxy.
        boxes: (G, 4) boxes, xywh (as in COCO annotation files).

    Returns:
        np.ndarray: (P,) float64; 0 where there is no box.
    """
    props = np.asarray(proposals, np.float64).reshape(-1, 4)
    if len(props) == 0 or len(boxes) == 0:
        return np.zeros(len(props))
    xywh = np.concatenate([props[:, :2], props[:, 2:] - props[:, :2]], axis=1)
    return box_iou_xywh(xywh, np.asarray(boxes, np.float64).reshape(-1, 4)).max(1)


@METRICS.register_module()
class OWPScoreDump(BaseMetric):
    """Save every proposal's score (and components) with its best novel/base IoU.

    Args:
        ann_file (str): The full annotation file (all classes).
        out_file (str): Where to write the ``.npz``.
        split (str | dict): The split, as given to :class:`OWPRecallMetric`:
            a name ('coco-voc', 'lvis-freq', 'shapes'), a split JSON path, or
            ``dict(base=[...], novel=[...])``.
        base_classes (Sequence[str], optional): Deprecated, use ``split``.
            Without a split, base = these names (default: the dataset's
            classes) and novel = every other category of the file.

    Arrays written: ``img_id``, ``score``, ``novel_iou``, ``base_iou`` (P,),
    plus each of :data:`SCORE_COMPONENTS` that every proposal carries.
    """
    default_prefix = 'score_dump'

    def __init__(self, ann_file: str, out_file: str, split: Optional[SplitSpec] = None,
                 base_classes: Optional[Sequence[str]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if split is not None and base_classes is not None:
            raise ValueError('OWPScoreDump: give `split` (base_classes is its deprecated '
                             'spelling), not both')
        if split is None:
            warnings.warn(
                'OWPScoreDump without `split` is deprecated and will be removed in the next '
                'release: it counts every class outside base_classes (default: the dataset '
                "classes) as novel. Pass the recall metric's split, e.g. split='coco-voc'.",
                DeprecationWarning, stacklevel=2)
        self.ann_file = ann_file
        self.out_file = out_file
        self.split = split
        self.base_classes = base_classes

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            pred = ds['pred_instances']
            row = dict(img_id=int(ds['img_id']),
                       bboxes=pred['bboxes'].cpu().numpy().astype(np.float32),
                       score=pred['scores'].cpu().numpy().astype(np.float32))
            for k in SCORE_COMPONENTS:
                if k in pred:
                    row[k] = pred[k].cpu().numpy().astype(np.float32)
            self.results.append(row)

    def _split_spec(self, categories: Sequence[dict]) -> SplitSpec:
        """The split; the deprecated form as an explicit base/novel dict."""
        if self.split is not None:
            return self.split
        base = list(self.base_classes or self.dataset_meta['classes'])
        return dict(base=base, novel=[c['name'] for c in categories if c['name'] not in base])

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        with get_local_path(self.ann_file) as path, open(path) as f:
            coco = json.load(f)
        try:
            sp = resolve_split(self._split_spec(coco['categories']), coco['categories'])
        except ValueError as e:
            raise ValueError(f'{self.ann_file}: {e}') from None
        side = {c: 'base' for c in sp.base_ids}
        side.update({c: 'novel' for c in sp.novel_ids})
        boxes: Dict[int, Dict[str, list]] = {}
        for a in coco['annotations']:
            if a.get('iscrowd', 0) or a['category_id'] not in side:
                continue
            img = boxes.setdefault(a['image_id'], {'novel': [], 'base': []})
            img[side[a['category_id']]].append(a['bbox'])
        cols: Dict[str, list] = {k: [] for k in ('img_id', 'score', 'novel_iou', 'base_iou')}
        comps = [k for k in SCORE_COMPONENTS if results and all(k in r for r in results)]
        cols.update({k: [] for k in comps})
        for r in results:
            img = boxes.get(r['img_id'], {'novel': [], 'base': []})
            cols['img_id'].append(np.full(len(r['score']), r['img_id']))
            cols['score'].append(r['score'])
            cols['novel_iou'].append(best_iou(r['bboxes'], img['novel']))
            cols['base_iou'].append(best_iou(r['bboxes'], img['base']))
            for k in comps:
                cols[k].append(r[k])
        arrays = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
        os.makedirs(osp.dirname(osp.abspath(self.out_file)), exist_ok=True)
        np.savez_compressed(self.out_file, **arrays)
        return dict(num_proposals=float(len(arrays['score'])))
