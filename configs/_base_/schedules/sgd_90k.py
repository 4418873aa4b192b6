# Paper sec. 5: batch 16 (8 GPUs x 2), SGD momentum 0.9, weight decay 1e-4,
# lr 0.01 decayed x0.1 at 60k and 80k of 90k iterations (FCOS warm-up, bias lr x2).
max_iters = 90000
lr = 0.01
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[60000, 80000], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))
# Batch 16 = 8 GPUs x 2 images; mmengine rescales lr if you run another batch
# with `--auto-scale-lr`.
auto_scale_lr = dict(enable=False, base_batch_size=16)
