"""COCO and LVIS v1 datasets that keep one side of a base/novel split.

``OWPCocoDataset(split='coco-voc', subset='base')`` trains on the base classes:
annotations of other classes are dropped, and with ``filter_cfg.filter_empty_gt``
images left without a base object are skipped. The class list (``metainfo
classes``, hence label ``i``) is derived from the split and the annotation file,
ordered by category id, so a config never has to paste 1,103 LVIS names.

mmdet's ``LVISV1Dataset`` ignores ``metainfo=dict(classes=...)`` (it always
maps all 1,203 categories); ``OWPLVISV1Dataset`` is the way to train LVIS on a
split. LVIS annotations have no ``iscrowd``: mmdet treats that as 0.
"""
from typing import List

from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmdet.registry import DATASETS

from .splits import SplitSpec, resolve_split

__all__ = ['OWPCocoDataset', 'OWPLVISV1Dataset', 'SplitDatasetMixin']


class SplitDatasetMixin:
    """Keep the classes of ``subset`` ('base', 'novel' or 'all') of ``split``."""

    def __init__(self, *args, split: SplitSpec, subset: str = 'base', **kwargs) -> None:
        if subset not in ('base', 'novel', 'all'):
            raise ValueError(f"{type(self).__name__}.subset must be 'base', 'novel' or 'all', "
                             f'got {subset!r}')
        if kwargs.get('metainfo', {}) and 'classes' in kwargs['metainfo']:
            raise ValueError(f'{type(self).__name__}: give the classes through `split`, not '
                             'metainfo.classes')
        self.split = split
        self.subset = subset
        super().__init__(*args, **kwargs)

    def __delattr__(self, name: str) -> None:
        # mmdet's load_data_list ends with `del self.coco` / `del self.lvis` (to
        # free memory); keep the categories the split is resolved against.
        if name in ('coco', 'lvis'):
            self._categories = getattr(self, name).dataset['categories']
        super().__delattr__(name)

    def load_data_list(self) -> List[dict]:
        # mmdet's CocoDataset maps only the categories named in
        # metainfo['classes'] (its 80 COCO names by default) and drops every
        # other annotation; map them all here, the split chooses below.
        # (LVISV1Dataset maps all categories anyway.)
        self._metainfo['classes'] = ()
        data_list = super().load_data_list()
        cats = self._categories
        try:
            sp = resolve_split(self.split, cats)
        except ValueError as e:
            raise ValueError(f'{self.ann_file}: {e}') from None
        old_ids = list(self.cat_ids)
        keep = sorted(sp.ids(self.subset))
        names = {c['id']: c['name'] for c in cats}
        self.cat_ids = keep
        self.cat2label = {cat_id: i for i, cat_id in enumerate(keep)}
        self._metainfo['classes'] = tuple(names[i] for i in keep)
        for info in data_list:
            kept = []
            for inst in info['instances']:
                cat = old_ids[inst['bbox_label']]
                if cat in self.cat2label:
                    inst['bbox_label'] = self.cat2label[cat]
                    kept.append(inst)
            info['instances'] = kept
        return data_list


@DATASETS.register_module()
class OWPCocoDataset(SplitDatasetMixin, CocoDataset):
    """COCO-format dataset restricted to one side of a split (see module doc)."""


@DATASETS.register_module()
class OWPLVISV1Dataset(SplitDatasetMixin, LVISV1Dataset):
    """LVIS v1 dataset restricted to one side of a split (see module doc)."""
