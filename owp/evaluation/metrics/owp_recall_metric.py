"""OWPRecallMetric: class-agnostic novel/base recall (and base AP) for mmengine loops."""
import json
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger

from ...datasets.splits import SplitSpec, resolve_split
from ..functional.ap import base_class_ap
from ..functional.constants import PROTOCOLS, SUBSETS
from ..functional.lvis_ap import lvis_federated_ap
from ..functional.protocols import evaluate_proposals

# The per-proposal score components the head may attach (``with_score_components``).
from .owp_score_dump import SCORE_COMPONENTS

__all__ = ['OWPRecallMetric']



@METRICS.register_module()
class OWPRecallMetric(BaseMetric):
    """Class-agnostic AR of a detector's proposals on a base/novel split.

    Reads the FULL annotation file itself, so evaluation never depends on the
    dataset's class filter; predicted label ``i`` means
    ``dataset_meta['classes'][i]`` (used for base AP only: recall ignores labels).

    Args:
        ann_file (str): The full annotation file (all classes).
        split (str | dict): Split name ('coco-voc', 'lvis-freq', 'shapes'),
            split JSON path, or ``dict(base=[...], novel=[...])``.
        subsets (Sequence[str]): Recall targets to report: 'novel', 'base', 'all'.
        protocol (str): 'remove' (paper), 'ignore' (OLN's cross-category
            protocol, exactly) or 'prefilter' (owp's former 'ignore'); see
            :func:`owp.evaluation.evaluate_proposals`.
        max_dets (Sequence[int]): The k of AR@k; ARs/ARm/ARl at the largest;
            OLN's AUC when the largest is >= 1000.
        base_ap (bool | str): Also report class-aware AP on the base classes:
            False, 'coco' (or True: COCO-style, pycocotools) or 'lvis' (LVIS's
            federated AP, the ``lvis`` package, for LVIS files; adds APr/c/f).
        dump_proposals (str, optional): Also write the evaluated proposals
            here as a COCO results JSON (``image_id``, ``category_id`` of the
            predicted class, ``bbox`` xywh, ``score``, and ``logits``,
            ``centerness``, ``iou`` where the head gives them), to evaluate
            again with ``eval_novel.sh --results`` under another protocol,
            split or k list.

    Keys: ``novel/AR@10``, ``novel/AR@100``, ``novel/ARs@100``, ...,
    ``novel/AUC``, ``base/AP``; values are fractions in [0, 1].
    """
    default_prefix: Optional[str] = None

    def __init__(self, ann_file: str, split: SplitSpec, subsets: Sequence[str] = ('novel', ),
                 protocol: str = 'remove', max_dets: Sequence[int] = (10, 100),
                 base_ap: bool = False, dump_proposals: Optional[str] = None,
                 **kwargs) -> None:
        with warnings.catch_warnings():  # keys are already namespaced ('novel/...')
            warnings.simplefilter('ignore')
            super().__init__(**kwargs)
        if protocol not in PROTOCOLS:
            raise ValueError(f'OWPRecallMetric.protocol must be one of {PROTOCOLS}, '
                             f'got {protocol!r}')
        bad = [s for s in subsets if s not in SUBSETS]
        if bad or not subsets:
            raise ValueError(f'OWPRecallMetric.subsets must be a non-empty subset of '
                             f'{SUBSETS}, got {list(subsets)}')
        if not max_dets or any(int(k) <= 0 for k in max_dets):
            raise ValueError(f'OWPRecallMetric.max_dets must be positive ints, got {max_dets}')
        self.ann_file = ann_file
        self.split = split
        self.subsets = tuple(subsets)
        self.protocol = protocol
        self.max_dets = tuple(int(k) for k in max_dets)
        if base_ap not in (False, True, 'coco', 'lvis'):
            raise ValueError("OWPRecallMetric.base_ap must be False, True/'coco' or 'lvis', "
                             f'got {base_ap!r}')
        self.base_ap = 'coco' if base_ap is True else base_ap
        self.dump_proposals = dump_proposals

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            pred = ds['pred_instances']
            b = pred['bboxes'].cpu().numpy().astype(np.float64)
            row = dict(img_id=int(ds['img_id']),
                       bboxes=np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1),
                       scores=pred['scores'].cpu().numpy().astype(np.float64),
                       labels=pred['labels'].cpu().numpy().astype(np.int64))
            if self.dump_proposals:
                for k in SCORE_COMPONENTS:
                    if k in pred:
                        row[k] = pred[k].cpu().numpy().astype(np.float64)
            self.results.append(row)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        with get_local_path(self.ann_file) as path:
            with open(path) as f:
                coco = json.load(f)
        dets = [dict(image_id=r['img_id'], bbox=box, score=s)
                for r in results for box, s in zip(r['bboxes'].tolist(), r['scores'].tolist())]
        known = {im['id'] for im in coco['images']}
        seen = {r['img_id'] for r in results}
        missing = sorted(seen - known)
        if missing:
            raise ValueError(f'{self.ann_file}: predicted image ids {missing[:5]} are not in '
                             'this annotation file (wrong ann_file for the dataset?)')
        if len(seen) < len(known):
            # only the images the loop ran on (a subset dataset, `indices=...`):
            # the others' boxes would count as misses
            logger.warning(f'OWPRecallMetric: evaluating the {len(seen)} images the loop '
                           f'processed, of {len(known)} in {self.ann_file}')
            coco = dict(coco, images=[im for im in coco['images'] if im['id'] in seen],
                        annotations=[a for a in coco['annotations'] if a['image_id'] in seen])
        # Model outputs may hold degenerate boxes: they never match, as in pycocotools.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            metrics = evaluate_proposals(coco, dets, self.split, self.subsets, self.protocol,
                                         self.max_dets, validate=False)
        for w in caught:
            logger.warning(f'OWPRecallMetric: {w.message}')
        if self.dump_proposals:
            self._dump(results, coco)
        if self.base_ap:
            sp = resolve_split(self.split, coco['categories'])
            name_to_id = {c['name']: c['id'] for c in coco['categories']}
            classes = self.dataset_meta['classes']
            unknown = [c for c in classes if c not in name_to_id]
            if unknown:
                raise ValueError(f'{self.ann_file}: dataset classes {unknown} are not '
                                 'categories of this file')
            label_to_cat = np.array([name_to_id[c] for c in classes])
            labelled = [dict(image_id=r['img_id'], bbox=box, score=s, category_id=int(c))
                        for r in results
                        for box, s, c in zip(r['bboxes'].tolist(), r['scores'].tolist(),
                                             label_to_cat[r['labels']].tolist())]
            if self.base_ap == 'lvis':
                metrics.update(lvis_federated_ap(coco, labelled, sp.base_ids,
                                                 max_dets=max(self.max_dets)))
            else:
                metrics.update(base_class_ap(coco, labelled, sp.base_ids))
        table = '  '.join(f'{k}: ' + ('n/a' if v < 0 else f'{100 * v:.2f}')
                          for k, v in metrics.items())
        logger.info(f'OWP recall ({self.protocol}, split {self.split}): {table}')
        return metrics

    def _dump(self, results: List[dict], coco: dict) -> None:
        """Write the proposals as a COCO results JSON (see ``dump_proposals``)."""
        name_to_id = {c['name']: c['id'] for c in coco['categories']}
        classes = (self.dataset_meta or {}).get('classes') or ()
        # the file's id of the predicted class where the class is known, else the label
        label_to_cat = [name_to_id.get(c, i) for i, c in enumerate(classes)]
        out = []
        for r in results:
            comps = [k for k in SCORE_COMPONENTS if k in r]
            cols = [r['bboxes'].tolist(), r['scores'].tolist(), r['labels'].tolist()] + \
                [r[k].tolist() for k in comps]
            for box, score, label, *vals in zip(*cols):
                cat = label_to_cat[label] if label < len(label_to_cat) else label
                out.append(dict(image_id=r['img_id'], category_id=int(cat), bbox=box,
                                score=score, **dict(zip(comps, vals))))
        path = self.dump_proposals
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(out, f)
        MMLogger.get_current_instance().info(
            f'OWPRecallMetric: wrote {len(out)} proposals of {len(results)} images to {path}')
