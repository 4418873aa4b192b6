"""OWPRecallMetric: class-agnostic novel/base recall (and base AP) for mmengine loops."""
import json
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger

from ...datasets.splits import SplitSpec, resolve_split
from ..functional.lvis_ap import lvis_federated_ap
from ..functional.proposals import PROTOCOLS, SUBSETS, base_class_ap, evaluate_proposals

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
        protocol (str): 'remove' (paper) or 'ignore' (OLN); see
            :func:`owp.evaluation.evaluate_proposals`.
        max_dets (Sequence[int]): The k of AR@k; ARs/ARm/ARl at the largest.
        base_ap (bool | str): Also report class-aware AP on the base classes:
            False, 'coco' (or True: COCO-style, pycocotools) or 'lvis' (LVIS's
            federated AP, the ``lvis`` package, for LVIS files; adds APr/c/f).

    Keys: ``novel/AR@10``, ``novel/AR@100``, ``novel/ARs@100``, ...,
    ``base/AP``; values are fractions in [0, 1].
    """
    default_prefix: Optional[str] = None

    def __init__(self, ann_file: str, split: SplitSpec, subsets: Sequence[str] = ('novel', ),
                 protocol: str = 'remove', max_dets: Sequence[int] = (10, 100),
                 base_ap: bool = False, **kwargs) -> None:
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

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            pred = ds['pred_instances']
            b = pred['bboxes'].cpu().numpy().astype(np.float64)
            self.results.append(dict(
                img_id=int(ds['img_id']),
                bboxes=np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1),
                scores=pred['scores'].cpu().numpy().astype(np.float64),
                labels=pred['labels'].cpu().numpy().astype(np.int64)))

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
        metrics = evaluate_proposals(coco, dets, self.split, self.subsets, self.protocol,
                                     self.max_dets, validate=False)
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
