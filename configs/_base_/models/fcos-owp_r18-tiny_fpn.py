# A CPU-sized FCOS for the shapes benchmark: ResNet-18 at half width trained from
# scratch (no pretrained weights can be downloaded here), 3 FPN levels
# (strides 8/16/32) and a 2-conv, 64-channel head. Everything else (losses,
# sampling, scoring) is the R50 model's.
_base_ = './fcos-owp_r50_fpn.py'

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
        add_extra_convs=False,
        num_outs=3),
    bbox_head=dict(
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32],
        regress_ranges=((-1, 32), (32, 64), (64, 1e8)),
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))
