# The synthetic shapes benchmark (owp/datasets/shapes.py; `make data` or the quickstart
# writes it to data/shapes): MMDetection's COCO detection base with owp's split-aware
# dataset on the split `shapes` (4 base, 4 novel classes; owp/datasets/splits.py). Training
# keeps the base classes only: novel objects stay in the images as unlabelled background,
# and images with no base object are skipped. Evaluation reads the full annotation file
# and measures class-agnostic recall on the novel (and base) classes.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
data_root = 'data/shapes/'
owp_split = 'shapes'
num_classes = 4  # of the split's base side (tests/test_configs.py checks it)
backend_args = None
# The generator's image size; Resize keeps it (and records scale_factor).
img_scale = (160, 160)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
dataset_type = 'OWPCocoDataset'
split_dataset = dict(type=dataset_type, data_root=data_root, split=owp_split,
                     subset='base')
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    sampler=dict(type='InfiniteSampler'),
    dataset=dict(
        split_dataset,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        split_dataset,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    _delete_=True,
    type='OWPRecallMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    split=owp_split,
    subsets=('novel', 'base'),
    protocol='remove',
    max_dets=(10, 100))
test_evaluator = val_evaluator
