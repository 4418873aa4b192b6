# OWP-aware classification, finetune recipe (paper sec. 4) on shapes: start from
# the OWP IoU-CS-IS model, train classification at the schedule's lr while the
# regression and objectness branches run at 0.1x. It starts from the final
# checkpoint of fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py, which the study
# runner wires per seed (experiments/table1_shapes); by hand:
#   mim train mmdet CONFIG --cfg-options load_from=PATH/TO/OWP/iter_1000.pth
# The joint recipe's head and scoring are restated (as in ./fcos-owp-iou-cs-is-joint_...;
# tests/test_configs.py checks that they stay equal) to keep inheritance shallow.
_base_ = './fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py'
model = dict(bbox_head=dict(cls_mode='joint'), test_cfg=dict(score_mode='logits*iou'))
load_from = None  # no run state in configs/: set it per run
slow = dict(lr_mult=0.1)
optim_wrapper = dict(
    constructor='ScaledOptimWrapperConstructor',
    paramwise_cfg=dict(scale_keys={
        'bbox_head.reg_convs': slow,
        'bbox_head.conv_reg': slow,
        'bbox_head.conv_iou': slow,
        'bbox_head.scales': slow,
    }))
