"""The shapes benchmark generator: determinism, COCO validity, bad arguments."""
import filecmp
import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import tiny_shapes_config
from pycocotools.coco import COCO

from owp.datasets import shapes
from owp.datasets.shapes import ShapesConfig, generate_shapes, render_shape
from owp.datasets.splits import SHAPES_BASE_CLASSES, SHAPES_NOVEL_CLASSES


def _load(root, split):
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def test_deterministic_from_seed(tmp_path):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    generate_shapes(str(a), tiny_shapes_config(seed=3))
    generate_shapes(str(b), tiny_shapes_config(seed=3))
    generate_shapes(str(c), tiny_shapes_config(seed=4))
    for split in ('train', 'val'):
        assert _load(a, split) == _load(b, split)
        assert _load(a, split)['annotations'] != _load(c, split)['annotations']
        names = sorted(os.listdir(a / split))
        match, mismatch, errors = filecmp.cmpfiles(a / split, b / split, names, shallow=False)
        assert not mismatch and not errors and len(match) == len(names) > 0


def test_train_split_does_not_depend_on_num_val(tmp_path):
    generate_shapes(str(tmp_path / 'a'), tiny_shapes_config(num_val=2))
    generate_shapes(str(tmp_path / 'b'), tiny_shapes_config(num_val=5))
    a, b = _load(tmp_path / 'a', 'train'), _load(tmp_path / 'b', 'train')
    assert a['images'] == b['images'] and a['annotations'] == b['annotations']


def test_coco_valid_and_consistent(tiny_shapes):
    for split, n in (('train', 12), ('val', 6)):
        path = osp.join(tiny_shapes, 'annotations', f'instances_{split}.json')
        coco = COCO(path)
        assert len(coco.getImgIds()) == n
        names = [c['name'] for c in coco.loadCats(coco.getCatIds())]
        assert names == list(SHAPES_BASE_CLASSES) + list(SHAPES_NOVEL_CLASSES)
        anns = coco.loadAnns(coco.getAnnIds())
        assert len({a['id'] for a in anns}) == len(anns)
        for a in anns:
            img = coco.imgs[a['image_id']]
            x, y, w, h = a['bbox']
            assert w > 0 and h > 0
            assert x >= 0 and y >= 0 and x + w <= img['width'] and y + h <= img['height']
            assert 0 < a['area'] <= w * h
            assert a['iscrowd'] == 0
        for img in coco.imgs.values():
            assert osp.isfile(osp.join(tiny_shapes, split, img['file_name']))


def test_training_images_hold_novel_objects(tmp_path):
    generate_shapes(str(tmp_path), tiny_shapes_config(num_train=30))
    coco = _load(tmp_path, 'train')
    novel_ids = {c['id'] for c in coco['categories'] if c['name'] in SHAPES_NOVEL_CLASSES}
    with_novel = {a['image_id'] for a in coco['annotations'] if a['category_id'] in novel_ids}
    with_base = {a['image_id'] for a in coco['annotations'] if a['category_id'] not in novel_ids}
    # Novel objects share images with base ones: they become unlabelled background.
    assert len(with_novel & with_base) >= 5


def test_sizes_span_the_requested_range(tmp_path):
    cfg = ShapesConfig(num_train=60, num_val=0, img_size=(128, 128), min_size=8, max_size=64)
    generate_shapes(str(tmp_path), cfg)
    sides = np.array([max(a['bbox'][2:]) for a in _load(tmp_path, 'train')['annotations']])
    assert sides.min() <= 12 and sides.max() >= 48
    assert sides.max() <= 64


@pytest.mark.parametrize('kind', shapes.SHAPE_KINDS)
def test_render_fills_its_canvas(kind):
    m = render_shape(kind, 32, 0.7, np.random.default_rng(0))
    assert m.shape == (32, 32) and set(np.unique(m)) <= {0, 1}
    assert 0.15 * 32 * 32 < m.sum() < 32 * 32


@pytest.mark.parametrize('kw, words', [
    (dict(max_size=100), 'larger than the image'),
    (dict(base_classes=[], novel_classes=[]), 'zero classes'),
    (dict(base_classes=['ellipse', 'star'], novel_classes=['star']), 'both base and novel'),
    (dict(novel_classes=['dodecahedron']), 'dodecahedron'),
    (dict(min_objects=4, max_objects=2), 'min_objects'),
    (dict(min_size=20, max_size=10), 'min_size'),
    (dict(img_size=(32, 32), min_size=30, max_size=32, min_objects=8, max_objects=8,
          max_overlap=0.0), 'cannot place min_objects=8 objects of 30-32 px'),
])
def test_bad_arguments_fail_clearly(tmp_path, kw, words):
    with pytest.raises(ValueError, match=words):
        generate_shapes(str(tmp_path), tiny_shapes_config(**kw))
    assert not osp.exists(tmp_path / 'annotations')


def test_rerun_reuses_and_other_config_overwrites(tmp_path, capsys):
    generate_shapes(str(tmp_path), tiny_shapes_config())
    ann = tmp_path / 'annotations' / 'instances_train.json'
    mtime = ann.stat().st_mtime_ns
    generate_shapes(str(tmp_path), tiny_shapes_config())
    assert ann.stat().st_mtime_ns == mtime  # same config: reused, not rewritten
    with pytest.raises(FileExistsError, match='another config'):
        generate_shapes(str(tmp_path), tiny_shapes_config(seed=9), overwrite=False)
    generate_shapes(str(tmp_path), tiny_shapes_config(num_train=3, seed=9))
    assert len(_load(tmp_path, 'train')['images']) == 3
    assert len(os.listdir(tmp_path / 'train')) == 3  # stale images removed


def test_cli(tmp_path, capsys):
    out = str(tmp_path / 'd')
    assert shapes.main(['--out', out, '--num-train', '2', '--num-val', '1', '--img-size', '48', '48',
                        '--min-size', '6', '--max-size', '20']) == 0
    assert _load(out, 'val')['images'][0]['height'] == 48
    assert shapes.main(['--out', out, '--max-size', '500']) == 2
    assert 'larger than the image' in capsys.readouterr().err


def test_every_image_holds_at_least_min_objects(tmp_path, monkeypatch):
    """Crowded draws are redrawn: min_objects is a guarantee, not a hope."""
    import collections
    import json

    import owp.datasets.shapes as shapes
    cfg = tiny_shapes_config(min_objects=8, max_objects=8, min_size=16, max_size=30,
                             max_overlap=0.1)
    generate_shapes(str(tmp_path / 'ok'), cfg)
    for split in ('train', 'val'):
        coco = json.load(open(tmp_path / 'ok' / 'annotations' / f'instances_{split}.json'))
        per_image = collections.Counter(a['image_id'] for a in coco['annotations'])
        assert min(per_image.get(im['id'], 0) for im in coco['images']) == 8
    monkeypatch.setattr(shapes, 'IMAGE_TRIES', 1)  # the first draw alone falls short here
    with pytest.raises(ValueError, match='cannot place min_objects=8'):
        generate_shapes(str(tmp_path / 'short'), cfg)
