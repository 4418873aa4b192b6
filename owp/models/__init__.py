# Importing dense_heads registers OWPFCOSHead in mmdet's MODELS.
from .dense_heads import OWPFCOSHead

__all__ = ['OWPFCOSHead']
