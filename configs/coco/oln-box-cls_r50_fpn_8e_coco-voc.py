# OLN with classification (the FCOS paper's table 1, OWP-aware classification,
# "OLN 2-RPN": 32.7 -> 26.5 novel AR@100): OLN-Box whose box-head classifier is
# trained on the 20 base classes (loss weight 1); boxes scored by the class
# probability times sqrt(RPN centerness x box IoU score), NMS per class.
_base_ = './oln-box_r50_fpn_8e_coco-voc.py'
model = dict(
    roi_head=dict(bbox_head=dict(num_classes={{_base_.num_classes}},
                                 loss_cls=dict(loss_weight=1.0))),
    test_cfg=dict(rcnn=dict(score_mode='logits*sqrt(centerness*iou)')))
val_evaluator = dict(base_ap=True)
test_evaluator = val_evaluator
