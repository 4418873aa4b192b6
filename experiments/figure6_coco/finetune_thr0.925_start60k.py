# Figure 6: finetune recipe (starts from the OWP IoU-CS-IS model),
# unknown-object masking at IoU > 0.925 from iteration 60k.
_base_ = '../../configs/coco/fcos-owp-iou-cs-is-finetune_r50_fpn_90k_coco-voc.py'
unknown_thr = 0.925
unknown_start_iter = 60000
model = dict(
    bbox_head=dict(unknown_masking=dict(thr=unknown_thr, start_iter=unknown_start_iter)))
