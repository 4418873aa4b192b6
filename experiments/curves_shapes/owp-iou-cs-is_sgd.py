# OWP IoU-CS-IS on shapes with the SGD recipe this study measured (lr 0.01, momentum 0.9,
# weight decay 1e-4, bias lr x2 and no bias decay), which was the shapes default until
# the schedule study (experiments/schedule_shapes) moved shapes to AdamW.
_base_ = '../../configs/shapes/fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py'
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(_delete_=True, bias_lr_mult=2., bias_decay_mult=0.))
