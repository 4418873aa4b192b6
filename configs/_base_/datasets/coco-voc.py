# COCO 2017, VOC -> non-VOC (paper sec. 5): train on the 20 PASCAL VOC classes, measure
# class-agnostic recall on the other 60. MMDetection's COCO detection base with owp's
# split-aware dataset: the classes come from the split `coco-voc` (owp/datasets/splits.py,
# the one definition), ordered by category id; training keeps only base annotations and
# skips images without a base object; evaluation reads the full val annotation file.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
data_root = 'data/coco/'
owp_split = 'coco-voc'
num_classes = 20  # of the split's base side (tests/test_configs.py checks it)

dataset_type = 'OWPCocoDataset'
split_dataset = dict(type=dataset_type, data_root=data_root, split=owp_split,
                     subset='base')
# Batch 16 = 8 GPUs x 2 images (paper sec. 5); iteration-based training.
train_dataloader = dict(sampler=dict(type='InfiniteSampler'), dataset=split_dataset)
val_dataloader = dict(dataset=split_dataset)
test_dataloader = val_dataloader

val_evaluator = dict(
    _delete_=True,
    type='OWPRecallMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    split=owp_split,
    subsets=('novel', 'base'),
    protocol='remove',
    max_dets=(10, 100),
    base_ap=True)
test_evaluator = val_evaluator
