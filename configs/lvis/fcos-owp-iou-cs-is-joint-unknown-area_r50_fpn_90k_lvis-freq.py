# Appendix A, unknown-area masking (table 4, "areas_5k"): besides the unknown
# points themselves, every background point inside the boxes they predict is
# dropped from the classification loss. Set `area_nms_iou` to NMS those boxes first.
_base_ = './fcos-owp-iou-cs-is-joint-unknown_r50_fpn_90k_lvis-freq.py'
area_nms_iou = None
model = dict(bbox_head=dict(unknown_masking=dict(area=True, area_nms_iou=area_nms_iou)))
