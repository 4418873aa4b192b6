# LVIS v1, base -> novel frequent (paper sec. 5): base = all rare + all common +
# the first 305 frequent categories by id, novel = the other 100 frequent ones,
# derived from the annotation file's `frequency` field by OWPLVISV1Dataset
# (mmdet's LVISV1Dataset ignores metainfo classes). Evaluation: class-agnostic
# AR@300 on the novel (and base) classes from the full val file.
dataset_type = 'OWPLVISV1Dataset'
data_root = 'data/lvis_v1/'
owp_split = 'lvis-freq'
# 337 rare + 461 common + 305 frequent categories in LVIS v1.
num_classes = 1103
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),  # LVIS file names come from coco_url: train2017/...
        split=owp_split,
        subset='base',
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''),
        split=owp_split,
        subset='base',
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# Base AP is LVIS's federated AP (paper table 2), on the base classes. mmdet's
# LVISMetric is no substitute on a split: it maps label i to the i-th of all
# 1,203 categories, while here label i is the i-th base class.
val_evaluator = dict(
    type='OWPRecallMetric',
    ann_file=data_root + 'annotations/lvis_v1_val.json',
    split=owp_split,
    subsets=('novel', 'base'),
    protocol='remove',
    max_dets=(300, ),
    base_ap='lvis')
test_evaluator = val_evaluator
