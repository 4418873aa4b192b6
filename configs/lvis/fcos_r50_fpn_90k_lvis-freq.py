# Baseline (paper table 2, first row): stock FCOS R50-FPN trained jointly on the
# LVIS base classes, scored logits * centerness, 300 proposals per image.
# The root of every LVIS experiment; variants state only what they change.
_base_ = [
    '../_base_/models/fcos-owp_r50_fpn.py',
    '../_base_/datasets/lvis-freq.py',
    '../_base_/schedules/sgd_90k.py',
    '../_base_/default_runtime.py',
]
model = dict(
    bbox_head=dict(num_classes={{_base_.num_classes}}),
    test_cfg=dict(max_per_img=300))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3))
