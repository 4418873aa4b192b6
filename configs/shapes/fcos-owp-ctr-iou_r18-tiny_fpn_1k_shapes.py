# OWP, both objectness branches (paper table 1 "sqrt(centerness * IOU)"),
# trained on every point inside a box; classifier untrained; scored by the
# geometric mean of the two.
_base_ = './fcos_r18-tiny_fpn_1k_shapes.py'
model = dict(
    bbox_head=dict(
        cls_mode='untrained',
        objectness_branches=('centerness', 'iou'),
        objectness_sampling='inside'),
    test_cfg=dict(score_mode='sqrt(centerness*iou)'))
