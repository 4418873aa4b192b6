from .bbox_heads import OLNBBoxHead
from .oln_roi_head import OLNRoIHead

__all__ = ['OLNBBoxHead', 'OLNRoIHead']
