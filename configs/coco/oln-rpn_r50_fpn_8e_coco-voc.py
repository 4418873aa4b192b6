# OLN-RPN alone (the FCOS paper's table 1 "OLN 1-RPN"): OLN-Box's proposal stage as an
# RPN detector, proposals scored by its centerness objectness. OLN's code has no
# config for this row; owp applies NMS at 0.7 (mmdet's RPN default and OLN-Box's final
# NMS) and keeps 1500 per image, as OLN-Box (docs/design.md, "OLN").
_base_ = './oln-box_r50_fpn_8e_coco-voc.py'
model = dict(
    _delete_=True,
    type='RPN',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    rpn_head={{_base_.model.rpn_head}},
    train_cfg=dict(rpn={{_base_.model.train_cfg.rpn}}),
    test_cfg=dict(rpn=dict(score_mode='centerness', nms_pre=2000, min_bbox_size=0,
                           nms=dict(type='nms', iou_threshold=0.7), max_per_img=1500)))
