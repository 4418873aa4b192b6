# Joint recipe + unknown-object masking (paper sec. 3.3): background points whose
# predicted IoU exceeds `unknown_thr` are dropped from the classification loss
# from iteration `unknown_start_iter` on (paper: 0.95 from 5k of 90k iterations).
# The joint recipe's head and scoring are restated (as in ./fcos-owp-iou-cs-is-joint_...;
# tests/test_configs.py checks that they stay equal) to keep inheritance shallow.
_base_ = './fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py'
unknown_thr = 0.95
unknown_start_iter = 200
model = dict(
    bbox_head=dict(
        cls_mode='joint',
        unknown_masking=dict(thr=unknown_thr, start_iter=unknown_start_iter)),
    test_cfg=dict(score_mode='logits*iou'))
