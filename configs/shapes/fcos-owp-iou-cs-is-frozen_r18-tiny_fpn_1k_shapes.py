# Appendix A, "frozen" recipe (table 3) on shapes: the finetune recipe with the
# localization branches (regression tower, box and IoU convs, FPN-level scales)
# frozen (lr and weight decay x0) instead of slowed. Starts, like finetune, from the
# OWP IoU-CS-IS model (`load_from`, wired per seed by experiments/table3_shapes).
_base_ = './fcos-owp-iou-cs-is-finetune_r18-tiny_fpn_1k_shapes.py'
frozen = dict(lr_mult=0.0, decay_mult=0.0)
optim_wrapper = dict(
    paramwise_cfg=dict(scale_keys={
        'bbox_head.reg_convs': frozen,
        'bbox_head.conv_reg': frozen,
        'bbox_head.conv_iou': frozen,
        'bbox_head.scales': frozen,
    }))
