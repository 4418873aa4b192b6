# CPU training on the shapes benchmark: batch 8, AdamW (lr 1e-3, weight decay 0.05, none
# on norm and bias parameters), linear warm-up over 100 iterations, lr x0.1 at 75%.
# Why AdamW, not the paper's SGD: the half-width ResNet-18 trains from scratch here (no
# weights can be downloaded), and under SGD it learns too slowly for a CPU budget. Measured
# on shapes, seed 0 (experiments/curves_shapes, experiments/schedule_shapes): stock FCOS
# reached base AP 6.0 at 1,000 iterations and 12.9 at 2,250 with SGD lr 0.02, 9.2 and 25.2
# with AdamW. The paper's real-data configs keep SGD (configs/_base_/schedules/sgd_90k.py).
# `max_iters` is the quickstart's 1,000; the shapes studies (experiments/*_shapes) train
# 3,750 (their manifests' cfg_options), the schedule chosen in experiments/schedule_shapes.
max_iters = 1000
lr = 1e-3
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(max_iters * 0.75)], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))
