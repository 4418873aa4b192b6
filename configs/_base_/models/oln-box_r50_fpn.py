# OLN-Box (Kim et al., "Learning Open-World Object Proposals without Learning to
# Classify"): OLN-RPN + OLN-Box head on an ImageNet R50-FPN, at the settings of OLN's
# public config (configs/oln_box/oln_box.py of mcahny/object_localization_network).
# Class-agnostic: one 'object' class, the classifiers of both stages trained with
# loss weight 0; boxes scored sqrt(RPN centerness x box IoU score).
# Where owp deviates from OLN's code, and why: docs/design.md, "OLN".
#
# The data preprocessor and backbone are the FCOS model's; a two-stage detector has
# no `bbox_head`, so the model dict is replaced (`_delete_`) and takes them from it.
_base_ = './fcos-owp_r50_fpn.py'

model = dict(
    _delete_=True,
    type='FasterRCNN',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    # OLN's FPN: P2-P6 from C2-C5, P6 max-pooled (mmdet's FPN defaults), where
    # FCOS's is P3-P7 with extra convs on P5.
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5),
    rpn_head=dict(
        type='OLNRPNHead',
        in_channels=256,
        feat_channels=256,
        # One anchor per location (OLN: each anchor "ingests more data").
        anchor_generator=dict(
            type='AnchorGenerator', scales=[8], ratios=[1.0], strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(type='TBLRBBoxCoder', normalizer=1.0),
        # No foreground/background classification.
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.0),
        reg_decoded_bbox=True,
        loss_bbox=dict(type='IoULoss', mode='linear', loss_weight=10.0),
        loss_objectness=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='OLNRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='OLNBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=1,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0),
            loss_bbox_score=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            # box regression: the usual RPN assignment
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            # objectness (centerness): positives at IoU >= 0.3, 256 with positive
            # fraction 1. As in OLN's code, the sampler fills the 256 with negatives
            # (IoU < 0.1, target 0) when there are fewer positives; neg_pos_ub=0 gives
            # the positives-only training that OLN's paper describes (docs/design.md).
            objectness_assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.3,
                                     neg_iou_thr=0.1, min_pos_iou=0.3, ignore_iof_thr=-1),
            objectness_sampler=dict(type='RandomSampler', num=256, pos_fraction=1.0,
                                    neg_pos_ub=-1, add_gt_as_proposals=False),
            allowed_border=0,
            pos_weight=-1,
            debug=False),
        # OLN's "nms_thr=0.0  # nms is not used": its head returns every candidate
        # (2000 per level), unsorted and uncut. nms=None is mmcv's "no NMS"; mmdet 3
        # needs a cut, and 5 levels x 2000 keeps them all (docs/design.md, "OLN").
        rpn_proposal=dict(nms_pre=2000, max_per_img=10000, nms=None, min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=2000, max_per_img=10000, nms=None, min_bbox_size=0),
        rcnn=dict(
            score_mode='sqrt(centerness*iou)',
            score_thr=0.0,
            nms=dict(type='nms', iou_threshold=0.7),
            # OLN keeps 1500 per image (its cross-category AR goes up to AR@1500).
            max_per_img=1500)))
