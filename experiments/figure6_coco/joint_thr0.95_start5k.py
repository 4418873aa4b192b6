# Figure 6: joint recipe, unknown-object masking at IoU > 0.95 from iteration 5k.
_base_ = '../../configs/coco/fcos-owp-iou-cs-is-joint-unknown_r50_fpn_90k_coco-voc.py'
unknown_thr = 0.95
unknown_start_iter = 5000
model = dict(
    bbox_head=dict(unknown_masking=dict(thr=unknown_thr, start_iter=unknown_start_iter)))
