# OWP-aware classification, finetune recipe (paper sec. 4, table 1): start from
# the OWP IoU-CS-IS model, train classification at lr 0.01 while the regression
# and objectness branches get the slowed lr 0.001. It starts from the final
# checkpoint of fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py, which the study
# runner wires per seed (experiments/table1_coco); by hand:
#   mim train mmdet CONFIG --cfg-options load_from=PATH/TO/OWP/iter_90000.pth
# The joint recipe's head and scoring are restated (as in ./fcos-owp-iou-cs-is-joint_...;
# tests/test_configs.py checks that they stay equal) to keep inheritance shallow.
_base_ = './fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py'
model = dict(bbox_head=dict(cls_mode='joint'), test_cfg=dict(score_mode='logits*iou'))
load_from = None  # no run state in configs/: set it per run
slow = dict(lr_mult=0.1)  # 0.01 * 0.1 = 0.001
# scale_keys multiply what the schedule's rules give each parameter (biases
# keep their 2x lr and no decay); mmengine's custom_keys would replace them.
optim_wrapper = dict(
    constructor='ScaledOptimWrapperConstructor',
    paramwise_cfg=dict(scale_keys={
        'bbox_head.reg_convs': slow,
        'bbox_head.conv_reg': slow,
        'bbox_head.conv_iou': slow,
        'bbox_head.scales': slow,
    }))
