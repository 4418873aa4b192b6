# Table 4 "areas_5k": unknown-area masking from iteration 5k (threshold 0.95).
_base_ = '../../configs/lvis/fcos-owp-iou-cs-is-joint-unknown-area_r50_fpn_90k_lvis-freq.py'
unknown_start_iter = 5000
model = dict(bbox_head=dict(unknown_masking=dict(start_iter=unknown_start_iter)))
