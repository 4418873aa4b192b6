"""Base/novel splits by name, from a file, and their errors."""
import json

import pytest

from owp.datasets.splits import (
    COCO_VOC_BASE_CLASSES,
    LVIS_NUM_BASE_FREQUENT,
    SHAPES_BASE_CLASSES,
    resolve_split,
)

COCO_NAMES = [
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush']
# COCO's real, non-contiguous category ids.
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
COCO_CATS = [dict(id=i, name=n) for i, n in zip(COCO_IDS, COCO_NAMES)]


def test_coco_voc():
    sp = resolve_split('coco-voc', COCO_CATS)
    assert len(sp.base_ids) == 20 and len(sp.novel_ids) == 60
    assert set(sp.base_names) == set(COCO_VOC_BASE_CLASSES)
    assert 'truck' in sp.novel_names and 'person' in sp.base_names
    assert set(sp.ids('all')) == set(COCO_IDS)


def _lvis_cats(seed=0):
    import random
    rnd = random.Random(seed)
    freqs = ['r'] * 30 + ['c'] * 40 + ['f'] * 405
    rnd.shuffle(freqs)
    return [dict(id=i + 1, name=f'cat{i + 1}', frequency=f) for i, f in enumerate(freqs)]


def test_lvis_freq_from_frequency_field():
    cats = _lvis_cats()
    sp = resolve_split('lvis-freq', cats)
    freq_ids = sorted(c['id'] for c in cats if c['frequency'] == 'f')
    assert list(sp.novel_ids) == freq_ids[LVIS_NUM_BASE_FREQUENT:]
    assert len(sp.novel_ids) == 100
    assert len(sp.base_ids) == 30 + 40 + 305
    rc = {c['id'] for c in cats if c['frequency'] in 'rc'}
    assert rc <= set(sp.base_ids)


def test_lvis_freq_needs_frequency():
    with pytest.raises(ValueError, match='frequency'):
        resolve_split('lvis-freq', COCO_CATS)


def test_shapes_split():
    from owp.datasets.shapes import SHAPE_KINDS
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(SHAPE_KINDS)]
    sp = resolve_split('shapes', cats)
    assert sp.base_names == list(SHAPES_BASE_CLASSES)


def test_split_file_names_and_ids(tmp_path):
    f = tmp_path / 'split.json'
    f.write_text(json.dumps(dict(base=['person', 3], novel=['zebra', 'giraffe'])))
    sp = resolve_split(str(f), COCO_CATS)
    assert sp.base_names == ['person', 'car'] and sp.novel_names == ['zebra', 'giraffe']


@pytest.mark.parametrize('spec, words', [
    (dict(base=['persn'], novel=['zebra']), r"unknown base class 'persn'; closest: \['person'"),
    (dict(base=['person'], novel=['person', 'zebra']), 'both base and novel'),
    (dict(base=['person'], novel=[999]), 'category id 999'),
    (dict(base=['person']), "'base' and 'novel'"),
    ('no-such-split', 'neither a split name'),
    (dict(base=['tvmonitor'], novel=['zebra']), r"closest: \['tv'"),
    (dict(base=['qqq'], novel=['zebra']), r"the file has 80 classes, e.g. \['person'"),
    (dict(base='person', novel=['zebra']), "'base' must be a list"),
])
def test_split_errors(spec, words):
    with pytest.raises(ValueError, match=words):
        resolve_split(spec, COCO_CATS)


def test_bad_split_file(tmp_path):
    f = tmp_path / 'split.json'
    f.write_text('{not json')
    with pytest.raises(ValueError, match='not valid JSON'):
        resolve_split(str(f), COCO_CATS)


def test_lvis_freq_rejects_unknown_frequency_values():
    cats = _lvis_cats()
    cats[7]['frequency'] = 'x'
    with pytest.raises(ValueError, match=r"'r', 'c' or 'f'; got \[\('cat8', 'x'\)\]"):
        resolve_split('lvis-freq', cats)


def test_a_name_with_nothing_close_lists_the_files_classes():
    voc_cats = [dict(id=i, name=n) for i, n in enumerate(['tvmonitor', 'sofa', 'zebra'], 1)]
    with pytest.raises(ValueError, match=r"unknown base class 'airplane'; the file has 3 "
                                         r"classes, e.g. \['tvmonitor', 'sofa', 'zebra'\]"):
        resolve_split('coco-voc', voc_cats)
