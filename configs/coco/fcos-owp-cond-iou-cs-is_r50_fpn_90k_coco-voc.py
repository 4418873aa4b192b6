# OWP, conditional IoU-CS-IS (paper fig. 2, table 1): the IoU branch sees the
# regression tower's features concatenated with the regression output.
_base_ = './fcos-owp-iou-cs-is_r50_fpn_90k_coco-voc.py'
model = dict(bbox_head=dict(conditional_objectness=True))
