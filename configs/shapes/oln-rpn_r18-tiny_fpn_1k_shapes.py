# OLN-RPN alone on shapes: OLN-Box's proposal stage as an RPN detector (as
# ../coco/oln-rpn_r50_fpn_8e_coco-voc.py).
_base_ = './oln-box_r18-tiny_fpn_1k_shapes.py'
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
