"""Class-aware COCO bbox AP on the base classes (pycocotools)."""
import contextlib
import io
from typing import Dict, Mapping, Sequence

__all__ = ['base_class_ap']


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
