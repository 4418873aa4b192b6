# COCO 2017, VOC -> non-VOC (paper sec. 5): train on the 20 PASCAL VOC classes
# (COCO names), measure class-agnostic recall on the other 60. Training keeps
# only base annotations and skips images without a base object; evaluation
# reads the full val annotation file.
# mmdet's CocoDataset with the annotation/image file checks of owp.datasets.validation
dataset_type = 'CheckedCocoDataset'
data_root = 'data/coco/'
# Must equal owp.datasets.splits for 'coco-voc' (tests/test_configs.py checks it).
base_classes = ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
                'boat', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'bottle', 'chair',
                'couch', 'potted plant', 'dining table', 'tv')
num_classes = len(base_classes)
owp_split = 'coco-voc'
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
# Batch 16 = 8 GPUs x 2 images (paper sec. 5).
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        metainfo=dict(classes=base_classes),
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
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        metainfo=dict(classes=base_classes),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='OWPRecallMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    split=owp_split,
    subsets=('novel', 'base'),
    protocol='remove',
    max_dets=(10, 100),
    base_ap=True)
test_evaluator = val_evaluator
