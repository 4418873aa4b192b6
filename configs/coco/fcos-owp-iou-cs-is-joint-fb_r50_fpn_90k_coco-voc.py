# Appendix A, "joint fb" (table 3): the joint recipe from ImageNet init with the
# ResNet frozen (stem + all 4 stages). The FPN starts from random init here, so,
# unlike the finetune-fb / frozen-fb recipes that start from the OWP model, it
# trains: a frozen random FPN would leave the head nothing to learn from.
# The joint recipe's head and scoring are restated (tests/test_configs.py checks them).
_base_ = './fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py'
model = dict(
    backbone=dict(frozen_stages=4),
    bbox_head=dict(cls_mode='joint'),
    test_cfg=dict(score_mode='logits*iou'))
