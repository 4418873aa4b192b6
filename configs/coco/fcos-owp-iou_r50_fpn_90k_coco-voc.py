# OWP, IoU objectness (paper table 1 "IOU"): an IoU branch on the regression
# tower replaces centerness, trained on every point inside a box (no center
# sampling, no IoU sampling); classifier untrained; scored by IoU alone.
_base_ = './fcos_r50_fpn_90k_coco-voc.py'
model = dict(
    bbox_head=dict(
        cls_mode='untrained',
        objectness_branches=('iou', ),
        objectness_sampling='inside'),
    test_cfg=dict(score_mode='iou'))
