from importlib import import_module

# owp.datasets.shapes (the generator CLI) is not imported here: it registers nothing.
from .splits import (
    COCO_VOC_BASE_CLASSES,
    SHAPES_BASE_CLASSES,
    SHAPES_NOVEL_CLASSES,
    SPLIT_NAMES,
    Split,
    resolve_split,
)

# Loaded on first access (PEP 562): they import mmcv/mmengine/mmdet, which
# results-file evaluation (it reads splits) never needs. owp.registration imports
# split_datasets (registers CheckedCocoDataset / OWPCocoDataset / OWPLVISV1Dataset
# in DATASETS).
_LAZY = {'CheckedCocoDataset': '.split_datasets', 'OWPCocoDataset': '.split_datasets',
         'OWPLVISV1Dataset': '.split_datasets', 'SplitDatasetMixin': '.split_datasets',
         'AnnotationCheckMixin': '.validation', 'DataFileError': '.validation',
         'check_annotation_dict': '.validation', 'load_annotation_file': '.validation'}

__all__ = ['AnnotationCheckMixin', 'CheckedCocoDataset', 'DataFileError', 'check_annotation_dict',
           'load_annotation_file', 'OWPCocoDataset', 'OWPLVISV1Dataset', 'SplitDatasetMixin',
           'COCO_VOC_BASE_CLASSES', 'SHAPES_BASE_CLASSES', 'SHAPES_NOVEL_CLASSES', 'SPLIT_NAMES',
           'Split', 'resolve_split']


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
