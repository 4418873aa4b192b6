# FCOS R50-FPN with the OWP head in its stock-FCOS setting (paper sec. 3.1):
# centerness objectness on FCOS positives, logits*centerness scoring.
# ImageNet-initialised ResNet-50 (torchvision weights), GN head, 5 levels.
# `num_classes` is set by the dataset base (one variable: `num_classes`).
model = dict(
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='OWPFCOSHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        # FCOS improvements the paper's FCOS uses: center sampling, stride-
        # normalised boxes, centerness on the regression tower (fig. 1).
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        centerness_on_reg=True,
        objectness_branches=('centerness', ),
        objectness_sampling='center',
        loss_cls=dict(
            type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    # Paper sec. 3.1: top 2000 before NMS; 100 (COCO) / 300 (LVIS) after it.
    # nms_pre is per FPN level (mmdet FCOSHead and the FCOS reference code do
    # the same), so up to 5 x 2000 candidates enter NMS.
    test_cfg=dict(
        score_mode='logits*centerness',
        nms_pre=2000,
        min_bbox_size=0,
        score_thr=0.0,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
