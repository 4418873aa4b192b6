# Importing dense_heads and roi_heads registers OWPFCOSHead and OLN's heads in mmdet's MODELS.
from .dense_heads import OLNRPNHead, OWPFCOSHead
from .roi_heads import OLNBBoxHead, OLNRoIHead

__all__ = ['OLNBBoxHead', 'OLNRPNHead', 'OLNRoIHead', 'OWPFCOSHead']
