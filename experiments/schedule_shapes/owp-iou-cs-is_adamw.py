# OWP IoU-CS-IS on shapes with AdamW instead of SGD: the probe of issue 12 part 1 (under SGD the
# from-scratch half-width R18 learned too slowly, curves_shapes). It is the same recipe as
# configs/_base_/schedules/adamw_shapes-cpu.py, which became the shapes default after this
# study; kept so that the study's runs keep their config.
_base_ = '../../configs/shapes/fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py'
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(_delete_=True, norm_decay_mult=0., bias_decay_mult=0.))
