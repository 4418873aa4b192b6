"""An annotation file's boxes as flat arrays in pycocotools' order."""
from typing import Mapping

import numpy as np

__all__ = ['GroundTruth']


class GroundTruth:
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
