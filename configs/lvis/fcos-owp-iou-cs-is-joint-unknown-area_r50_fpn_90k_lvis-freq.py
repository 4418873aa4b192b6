# Appendix A, unknown-area masking (table 4, "areas_5k"): besides the unknown
# points themselves, every background point inside the boxes they predict is
# dropped from the classification loss. Set `area_nms_iou` to NMS those boxes first.
# The joint recipe with unknown masking is restated (as in ./fcos-owp-iou-cs-is-joint-
# unknown_...; tests/test_configs.py checks the head) to keep inheritance shallow.
_base_ = './fcos-owp-iou-cs-is_r50_fpn_90k_lvis-freq.py'
unknown_thr = 0.95
unknown_start_iter = 5000
area_nms_iou = None
model = dict(
    bbox_head=dict(
        cls_mode='joint',
        unknown_masking=dict(thr=unknown_thr, start_iter=unknown_start_iter, area=True,
                             area_nms_iou=area_nms_iou)),
    test_cfg=dict(score_mode='logits*iou'))
