# OWP-aware classification, finetune recipe (paper sec. 4, table 1): start from
# the OWP IoU-CS-IS model, train classification at lr 0.01 while the regression
# and objectness branches get the slowed lr 0.001. Train the OWP model first:
#   mim train mmdet configs/coco/fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py
_base_ = './fcos-owp-iou-cs-is-joint_r50_fpn_90k_coco-voc.py'
owp_checkpoint = 'work_dirs/fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc/iter_90000.pth'
load_from = owp_checkpoint
slow_lr_mult = 0.1  # 0.01 * 0.1 = 0.001
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'bbox_head.reg_convs': dict(lr_mult=slow_lr_mult),
        'bbox_head.conv_reg': dict(lr_mult=slow_lr_mult),
        'bbox_head.conv_iou': dict(lr_mult=slow_lr_mult),
        'bbox_head.scales': dict(lr_mult=slow_lr_mult),
    }))
