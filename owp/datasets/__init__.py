# owp.datasets.shapes (the generator CLI) is not imported here: it registers nothing.
# Importing split_datasets registers CheckedCocoDataset / OWPCocoDataset /
# OWPLVISV1Dataset in DATASETS.
from .split_datasets import CheckedCocoDataset, OWPCocoDataset, OWPLVISV1Dataset, SplitDatasetMixin
from .splits import (
                             COCO_VOC_BASE_CLASSES,
                             SHAPES_BASE_CLASSES,
                             SHAPES_NOVEL_CLASSES,
                             SPLIT_NAMES,
                             Split,
                             resolve_split,
)
from .validation import (
                             AnnotationCheckMixin,
                             DataFileError,
                             check_annotation_dict,
                             load_annotation_file,
)

__all__ = ['AnnotationCheckMixin', 'CheckedCocoDataset', 'DataFileError',
           'check_annotation_dict', 'load_annotation_file', 'OWPCocoDataset', 'OWPLVISV1Dataset', 'SplitDatasetMixin', 'COCO_VOC_BASE_CLASSES', 'SHAPES_BASE_CLASSES', 'SHAPES_NOVEL_CLASSES',
           'SPLIT_NAMES', 'Split', 'resolve_split']
