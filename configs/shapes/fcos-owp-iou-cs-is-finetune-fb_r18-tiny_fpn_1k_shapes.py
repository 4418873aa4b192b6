# Appendix A, "finetune fb" (table 3) on shapes: the finetune recipe (localization
# branches slowed to 0.1x) with the backbone (ResNet + FPN) frozen.
_base_ = './fcos-owp-iou-cs-is-finetune_r18-tiny_fpn_1k_shapes.py'
model = dict(backbone=dict(frozen_stages=4))  # stem + all 4 ResNet stages
optim_wrapper = dict(
    paramwise_cfg=dict(scale_keys={'neck': dict(lr_mult=0.0, decay_mult=0.0)}))
