# Appendix A, "frozen" recipe (table 3): the finetune recipe with the
# localization branches (regression tower, box and IoU convs, FPN-level scales)
# frozen instead of slowed, so they keep the OWP model's weights while
# classification trains on top (the classifier trains here; the OWP configs'
# cls_mode='untrained' is the one that never trains it). Frozen here means lr and weight decay scaled by
# 0 (owp's ScaledOptimWrapperConstructor): config-only and safe under DDP
# (parameters frozen after the model is wrapped would break it). Their gradients
# are still computed (the box and IoU losses still train the backbone and neck,
# as in finetune) and count in the clip_grad norm. tests/test_configs.py checks
# that the weights do not move.
# Starts, like finetune, from the OWP IoU-CS-IS model (`load_from`, wired per seed by the
# study runner: experiments/table3_coco); the joint recipe's head and scoring are restated
# (tests/test_configs.py checks that they stay equal).
_base_ = './fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py'
load_from = None  # no run state in configs/: set it per run
model = dict(bbox_head=dict(cls_mode='joint'), test_cfg=dict(score_mode='logits*iou'))
frozen = dict(lr_mult=0.0, decay_mult=0.0)
optim_wrapper = dict(
    constructor='ScaledOptimWrapperConstructor',
    paramwise_cfg=dict(scale_keys={
        'bbox_head.reg_convs': frozen,
        'bbox_head.conv_reg': frozen,
        'bbox_head.conv_iou': frozen,
        'bbox_head.scales': frozen,
    }))
