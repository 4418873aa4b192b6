# OLN-Box sized like the shapes FCOS (./fcos-owp_r18-tiny_fpn.py): the same half-width
# ResNet-18 from scratch and the same 64-channel FPN at strides 8/16/32
# (mmengine takes `model` from a single base, here the R50 OLN, so the backbone and
# neck lines below restate the tiny FCOS's; tests/test_oln.py keeps them equal). Anchors of
# 2 x stride (16, 32, 64 px) for the 10-72 px shapes, where OLN's 8 x stride fits
# COCO; a 256-d box head. Every other setting is the R50 model's.
_base_ = './oln-box_r50_fpn.py'

model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=[32, 64, 128, 256],
        out_channels=64,
        start_level=1,
        add_extra_convs=False,
        num_outs=3,
        relu_before_extra_convs=True),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[2], strides=[8, 16, 32])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=[8, 16, 32]),
        bbox_head=dict(in_channels=64, fc_out_channels=256)))
