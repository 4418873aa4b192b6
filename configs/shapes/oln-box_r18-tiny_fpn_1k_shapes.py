# OLN-Box on the shapes benchmark: the tiny OLN model (the shapes FCOS's backbone and
# neck) with the shapes FCOS rows' dataset, schedule and hooks (tests/test_oln.py
# checks that only the model differs from fcos_r18-tiny_fpn_1k_shapes.py).
_base_ = [
    '../_base_/models/oln-box_r18-tiny_fpn.py',
    '../_base_/datasets/shapes.py',
    '../_base_/schedules/adamw_shapes-cpu.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250, max_keep_ckpts=2),
    visualization=dict(type='DetVisualizationHook', draw=False))
