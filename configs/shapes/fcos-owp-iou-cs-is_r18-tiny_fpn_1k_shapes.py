# OWP, IoU-CS-IS (paper sec. 3.2, table 1): an IoU branch trained on FCOS's
# center-sampled points with IoU sampling (targets below `iou_sampling_thr` set
# to 0); classifier untrained; scored by IoU alone.
_base_ = './fcos_r18-tiny_fpn_1k_shapes.py'
iou_sampling_thr = 0.3
model = dict(
    bbox_head=dict(
        cls_mode='untrained',
        objectness_branches=('iou', ),
        objectness_sampling='center',
        iou_sampling_thr=iou_sampling_thr),
    test_cfg=dict(score_mode='iou'))
