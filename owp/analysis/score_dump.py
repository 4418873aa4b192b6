"""Dump the raw per-proposal scores of a test run, labelled by what they hit.

``OWPScoreDump`` is an mmengine metric: add it beside the recall metric in
``test_evaluator`` and run with ``test_cfg.with_score_components=True`` so that
every proposal carries its ``logits`` (its class probability), ``centerness``
and ``iou`` besides the final ``score``. It writes an ``.npz`` file with one
row per proposal and, for each proposal, its best IoU with a novel and with a
base ground-truth box, read from the full annotation file. That is what the
score histograms (paper fig. 5) are drawn from
(:func:`owp.analysis.plots.plot_score_histograms`).
"""
import contextlib
import io
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from pycocotools.coco import COCO

__all__ = ['OWPScoreDump', 'box_iou_xyxy', 'load_score_dump']

#: Per-proposal fields the head may attach (``with_score_components=True``).
SCORE_COMPONENTS = ('logits', 'centerness', 'iou')


def box_iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two box sets.

    Args:
        a: (N, 4) boxes, xyxy.
        b: (M, 4) boxes, xyxy.

    Returns:
        np.ndarray: (N, M) IoU; zeros where a union is empty.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _best_iou(props: np.ndarray, gts: np.ndarray) -> np.ndarray:
    if len(gts) == 0 or len(props) == 0:
        return np.zeros(len(props))
    return box_iou_xyxy(props, gts).max(1)


@METRICS.register_module()
class OWPScoreDump(BaseMetric):
    """Save every proposal's score (and components) with its best novel/base IoU.

    Args:
        ann_file (str): The full annotation file (all classes).
        out_file (str): Where to write the ``.npz``.
        base_classes (Sequence[str], optional): Names of the base classes;
            defaults to ``dataset_meta['classes']`` (what the model was trained
            on). Every other category of the file counts as novel.
    """
    default_prefix = 'score_dump'

    def __init__(self, ann_file: str, out_file: str,
                 base_classes: Optional[Sequence[str]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ann_file = ann_file
        self.out_file = out_file
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

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        with get_local_path(self.ann_file) as path, \
                contextlib.redirect_stdout(io.StringIO()):  # pycocotools' chatter
            coco = COCO(path)
        base = set(self.base_classes or self.dataset_meta['classes'])
        names = {c['id']: c['name'] for c in coco.loadCats(coco.getCatIds())}
        unknown = base - set(names.values())
        if unknown:
            raise ValueError(f'{self.ann_file}: base classes {sorted(unknown)} are not categories '
                             'of this annotation file')
        cols: Dict[str, list] = {k: [] for k in ('img_id', 'score', 'novel_iou', 'base_iou')}
        comps = [k for k in SCORE_COMPONENTS if all(k in r for r in results)]
        for k in comps:
            cols[k] = []
        for r in results:
            anns = [a for a in coco.imgToAnns.get(r['img_id'], []) if not a.get('iscrowd', 0)]
            boxes = {True: [], False: []}
            for a in anns:
                x, y, w, h = a['bbox']
                boxes[names[a['category_id']] in base].append([x, y, x + w, y + h])
            n = len(r['score'])
            cols['img_id'].append(np.full(n, r['img_id']))
            cols['score'].append(r['score'])
            cols['novel_iou'].append(_best_iou(r['bboxes'], np.array(boxes[False])))
            cols['base_iou'].append(_best_iou(r['bboxes'], np.array(boxes[True])))
            for k in comps:
                cols[k].append(r[k])
        arrays = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
        os.makedirs(osp.dirname(osp.abspath(self.out_file)), exist_ok=True)
        np.savez_compressed(self.out_file, **arrays)
        return dict(num_proposals=float(len(arrays['score'])))


def load_score_dump(path: str) -> Dict[str, np.ndarray]:
    """Read a file written by :class:`OWPScoreDump` into a dict of arrays."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
