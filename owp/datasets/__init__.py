# owp.datasets.shapes (the generator CLI) is not imported here: it registers nothing.
# Importing split_datasets registers OWPCocoDataset / OWPLVISV1Dataset in DATASETS.
from .split_datasets import OWPCocoDataset, OWPLVISV1Dataset, SplitDatasetMixin
from .splits import (
    COCO_VOC_BASE_CLASSES,
    SHAPES_BASE_CLASSES,
    SHAPES_NOVEL_CLASSES,
    SPLIT_NAMES,
    Split,
    resolve_split,
)

__all__ = ['OWPCocoDataset', 'OWPLVISV1Dataset', 'SplitDatasetMixin', 'COCO_VOC_BASE_CLASSES', 'SHAPES_BASE_CLASSES', 'SHAPES_NOVEL_CLASSES',
           'SPLIT_NAMES', 'Split', 'resolve_split']
