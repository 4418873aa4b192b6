# Baseline (paper table 1, first row): stock FCOS R50-FPN trained jointly on the
# 20 VOC classes of COCO, scored logits * centerness.
# The root of every COCO experiment; variants state only what they change.
_base_ = [
    '../_base_/models/fcos-owp_r50_fpn.py',
    '../_base_/datasets/coco-voc.py',
    '../_base_/schedules/sgd_90k.py',
    '../_base_/default_runtime.py',
]
model = dict(bbox_head=dict(num_classes={{_base_.num_classes}}))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3))
