# OWP-aware classification, joint recipe (paper sec. 4): classification,
# regression and IoU-CS-IS objectness trained together; scored logits * IoU.
_base_ = './fcos-owp-iou-cs-is_r50_fpn_90k_lvis-freq.py'
model = dict(
    bbox_head=dict(cls_mode='joint'),
    test_cfg=dict(score_mode='logits*iou'))
