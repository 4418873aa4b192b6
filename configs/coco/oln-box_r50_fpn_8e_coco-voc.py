# OLN-Box (OLN's paper; the FCOS paper's table 1 "OLN 2-RPN", class-agnostic OWP):
# OLN-RPN + OLN-Box trained on the 20 VOC classes of COCO as one 'object' class,
# scored sqrt(RPN centerness x box IoU score), 1500 boxes per image.
# The root of the OLN COCO rows; variants state only what they change.
#
# OLN's schedule, not the paper's FCOS rows': 8 epochs (steps after 6 and 7), lr 0.02,
# warm-up 500 iterations, no gradient clipping, epoch-based; the FCOS rows train 90k
# iterations at lr 0.01 (steps at 60k/80k, clip 35). Batch 16 in both.
_base_ = [
    '../_base_/models/oln-box_r50_fpn.py',
    '../_base_/datasets/coco-voc.py',
    '../_base_/schedules/sgd_8e.py',
    '../_base_/default_runtime.py',
]
# Epoch-based: the dataset base's InfiniteSampler is for iteration-based runs.
train_dataloader = dict(sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True))
# Class-agnostic: no base-class AP (every box is labelled 'object').
val_evaluator = dict(base_ap=False)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, max_keep_ckpts=3))
