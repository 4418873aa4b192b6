# owp.datasets.shapes (the generator CLI) is not imported here: it registers nothing.
from .splits import (COCO_VOC_BASE_CLASSES, SHAPES_BASE_CLASSES, SHAPES_NOVEL_CLASSES,
                     SPLIT_NAMES, Split, resolve_split)

__all__ = ['COCO_VOC_BASE_CLASSES', 'SHAPES_BASE_CLASSES', 'SHAPES_NOVEL_CLASSES',
           'SPLIT_NAMES', 'Split', 'resolve_split']
