# Stock FCOS on the shapes benchmark, trained on the base classes:
# joint classification + regression + centerness, scored logits*centerness.
# The root of every shapes experiment; variants state only what they change.
_base_ = [
    '../_base_/models/fcos-owp_r18-tiny_fpn.py',
    '../_base_/datasets/shapes.py',
    '../_base_/schedules/adamw_shapes-cpu.py',
    '../_base_/default_runtime.py',
]
model = dict(bbox_head=dict(num_classes={{_base_.num_classes}}))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250, max_keep_ckpts=2),
    visualization=dict(type='DetVisualizationHook', draw=False))
