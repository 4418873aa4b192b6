# Appendix B, "all sampling": the IoU branch is trained on every point
# (background target 0) instead of center-sampled points.
_base_ = './fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py'
model = dict(bbox_head=dict(objectness_sampling='all', iou_sampling_thr=None))
