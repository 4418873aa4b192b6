# The synthetic shapes benchmark (owp/datasets/shapes.py; `make data` or the
# quickstart writes it to data/shapes). Training keeps the base classes only:
# novel objects stay in the images as unlabelled background, and images with no
# base object are skipped. Evaluation reads the full annotation file and
# measures class-agnostic recall on the novel (and base) classes.
# mmdet's CocoDataset with the annotation/image file checks of owp.datasets.validation
dataset_type = 'CheckedCocoDataset'
data_root = 'data/shapes/'
# Must equal owp.datasets.splits.SHAPES_BASE_CLASSES / SHAPES_NOVEL_CLASSES
# (tests/test_configs.py checks it).
base_classes = ('ellipse', 'rectangle', 'triangle', 'cross')
novel_classes = ('star', 'ring', 'hexagon', 'arrow')
num_classes = len(base_classes)
owp_split = 'shapes'
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
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=base_classes),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        metainfo=dict(classes=base_classes),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='OWPRecallMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    split=owp_split,
    subsets=('novel', 'base'),
    protocol='remove',
    max_dets=(10, 100))
test_evaluator = val_evaluator
