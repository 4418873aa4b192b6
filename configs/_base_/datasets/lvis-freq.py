# LVIS v1, base -> novel frequent (paper sec. 5): base = all rare + all common + the first
# 305 frequent categories by id, novel = the other 100 frequent ones, derived from the
# annotation file's `frequency` field by the split `lvis-freq` (owp/datasets/splits.py).
# Boxes only, so MMDetection's COCO detection base (pipelines, loaders) with owp's
# split-aware LVIS dataset (mmdet's LVISV1Dataset ignores metainfo classes; mmdet's LVIS
# base is instance segmentation with repeat-factor sampling, which the paper does not use).
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
data_root = 'data/lvis_v1/'
owp_split = 'lvis-freq'
num_classes = 1103  # 337 rare + 461 common + 305 frequent categories in LVIS v1

dataset_type = 'OWPLVISV1Dataset'
split_dataset = dict(type=dataset_type, data_root=data_root, split=owp_split,
                     subset='base', data_prefix=dict(img=''))  # file names: train2017/...
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler'),
    dataset=dict(split_dataset, ann_file='annotations/lvis_v1_train.json'))
val_dataloader = dict(dataset=dict(split_dataset, ann_file='annotations/lvis_v1_val.json'))
test_dataloader = val_dataloader

# Base AP is LVIS's federated AP (paper table 2), on the base classes. mmdet's
# LVISMetric is no substitute on a split: it maps label i to the i-th of all
# 1,203 categories, while here label i is the i-th base class.
val_evaluator = dict(
    _delete_=True,
    type='OWPRecallMetric',
    ann_file=data_root + 'annotations/lvis_v1_val.json',
    split=owp_split,
    subsets=('novel', 'base'),
    protocol='remove',
    max_dets=(300, ),
    base_ap='lvis')
test_evaluator = val_evaluator
