# Appendix A, "joint fb" (table 3) on shapes: the joint recipe with the ResNet frozen
# (stem + all 4 stages) and the FPN trained. The paper froze an ImageNet ResNet; shapes
# trains from scratch (nothing can be downloaded), so the frozen ResNet here is its
# random initialisation: the head learns from random features (experiments/table3_shapes).
_base_ = './fcos-owp-iou-cs-is-joint_r18-tiny_fpn_1k_shapes.py'
model = dict(backbone=dict(frozen_stages=4))
