from .oln_bbox_head import OLNBBoxHead

__all__ = ['OLNBBoxHead']
