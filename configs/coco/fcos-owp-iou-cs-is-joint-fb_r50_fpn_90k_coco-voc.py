# Appendix A, "joint fb" (table 3): the joint recipe from ImageNet init with the
# ResNet frozen (stem + all 4 stages). The FPN starts from random init here, so,
# unlike the finetune-fb / frozen-fb recipes that start from the OWP model, it
# trains: a frozen random FPN would leave the head nothing to learn from.
_base_ = './fcos-owp-iou-cs-is-joint_r50_fpn_90k_coco-voc.py'
model = dict(backbone=dict(frozen_stages=4))
