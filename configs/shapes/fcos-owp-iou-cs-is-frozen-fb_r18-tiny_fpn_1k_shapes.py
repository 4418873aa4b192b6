# Appendix A, "frozen fb" (table 3) on shapes: the frozen recipe with the backbone
# (ResNet + FPN, as configs/coco/fcos-owp-iou-cs-is-frozen-fb_...) frozen too, so the
# boxes and IoU scores are the IoU-CS-IS model's; only the classification branch learns.
_base_ = './fcos-owp-iou-cs-is-frozen_r18-tiny_fpn_1k_shapes.py'
model = dict(backbone=dict(frozen_stages=4))  # stem + all 4 ResNet stages
optim_wrapper = dict(
    paramwise_cfg=dict(scale_keys={'neck': dict(lr_mult=0.0, decay_mult=0.0)}))
