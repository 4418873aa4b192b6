# Appendix A, "finetune fb" (table 3): the finetune recipe (localization
# branches slowed to lr 0.001) with the backbone (ResNet + FPN, see the frozen-fb
# config) frozen.
_base_ = './fcos-owp-iou-cs-is-finetune_r50_fpn_90k_coco-voc.py'
model = dict(backbone=dict(frozen_stages=4))  # stem + all 4 ResNet stages
optim_wrapper = dict(
    paramwise_cfg=dict(scale_keys={'neck': dict(lr_mult=0.0, decay_mult=0.0)}))
