# OWP, centerness objectness (paper table 1 "centerness"): classifier
# untrained, regression + centerness trained on FCOS's center-sampled positives,
# proposals scored by centerness alone (class-agnostic).
_base_ = './fcos_r18-tiny_fpn_1k_shapes.py'
model = dict(
    bbox_head=dict(cls_mode='untrained'),
    test_cfg=dict(score_mode='centerness'))
