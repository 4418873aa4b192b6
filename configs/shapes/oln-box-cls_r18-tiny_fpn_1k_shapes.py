# OLN with classification on shapes: OLN-Box with its classifier trained on the 4 base
# classes, scored class probability x sqrt(RPN centerness x box IoU score).
_base_ = './oln-box_r18-tiny_fpn_1k_shapes.py'
model = dict(
    roi_head=dict(bbox_head=dict(num_classes={{_base_.num_classes}},
                                 loss_cls=dict(loss_weight=1.0))),
    test_cfg=dict(rcnn=dict(score_mode='logits*sqrt(centerness*iou)')))
val_evaluator = dict(base_ap=True)
test_evaluator = val_evaluator
