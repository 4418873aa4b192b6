# OLN's schedule (its configs: mmdet 2.x schedule_1x cut to 8 epochs): batch 16
# (8 GPUs x 2), SGD lr 0.02, momentum 0.9, weight decay 1e-4, linear warm-up over
# 500 iterations from 0.001, x0.1 after epochs 6 and 7; no gradient clipping.
max_epochs = 8
lr = 0.02
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[6, 7],
         gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=16)
