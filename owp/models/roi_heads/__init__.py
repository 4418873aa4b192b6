from .oln_roi_head import OLNBBoxHead, OLNRoIHead, box_iou_targets

__all__ = ['OLNBBoxHead', 'OLNRoIHead', 'box_iou_targets']
