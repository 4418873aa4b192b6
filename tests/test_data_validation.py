"""Bad data files fail when the dataset is built (or at the bad image), naming file and entry.

Every bad case is cut from the real COCO / LVIS files of ``../shared/data``
(coco-mini, lvis-v0.5-val100), copied into a temporary folder; those tests skip
where that folder is absent. The last test runs on generated shapes data.
"""
import copy
import json
import logging
import os
import os.path as osp
import re
import shutil

import numpy as np
import pytest
from conftest import REPO, log_records
from mmdet.registry import DATASETS
from mmengine.registry import init_default_scope

import owp.registration  # noqa: F401  (registers the datasets)
from owp.datasets import DataFileError, check_annotation_dict

_CANDIDATES = [os.environ.get('OWP_SHARED_DATA', ''), osp.join(REPO, '..', 'shared', 'data'),
               osp.join(REPO, '..', '..', 'shared', 'data')]
SHARED = next((p for p in _CANDIDATES if p and osp.isdir(osp.join(p, 'coco-mini'))), None)
needs_shared = pytest.mark.skipif(
    SHARED is None, reason='real COCO/LVIS samples not found: ../shared/data (or '
    '$OWP_SHARED_DATA) holds them on the development machines only')

NUM_IMAGES = 3


@pytest.fixture(scope='module')
def coco_val():
    if SHARED is None:
        pytest.skip(needs_shared.kwargs['reason'])
    with open(osp.join(SHARED, 'coco-mini', 'annotations', 'instances_val2017.json')) as f:
        return json.load(f)


@pytest.fixture
def coco_cut(tmp_path, coco_val):
    """The first images of coco-mini val2017 with their annotations, in tmp_path."""
    data = copy.deepcopy(coco_val)
    data['images'] = data['images'][:NUM_IMAGES]
    keep = {im['id'] for im in data['images']}
    data['annotations'] = [a for a in data['annotations'] if a['image_id'] in keep]
    os.makedirs(tmp_path / 'val2017')
    for im in data['images']:
        shutil.copy(osp.join(SHARED, 'coco-mini', 'val2017', im['file_name']),
                    tmp_path / 'val2017' / im['file_name'])
    return data


def _write(tmp_path, data, name='ann.json'):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _build(ann, type_='CheckedCocoDataset', pipeline=None, **kw):
    init_default_scope('mmdet')
    cfg = dict(type=type_, ann_file=ann, data_root=osp.dirname(ann),
               data_prefix=dict(img='val2017/'), test_mode=False,
               filter_cfg=dict(filter_empty_gt=False),
               pipeline=pipeline or [dict(type='LoadImageFromFile'),
                                     dict(type='LoadAnnotations', with_bbox=True)])
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_valid_cut_loads_without_warnings(tmp_path, coco_cut):
    with log_records() as records:
        ds = _build(_write(tmp_path, coco_cut))
    assert not [r for r in records if r.levelno >= logging.WARNING]
    assert len(ds) == NUM_IMAGES
    sample = ds[0]
    assert sample['img'].shape[:2] == (coco_cut['images'][0]['height'],
                                       coco_cut['images'][0]['width'])


@pytest.mark.parametrize('cut', ['truncated', 'not_json', 'list'])
def test_annotation_file_not_json(tmp_path, coco_cut, cut):
    raw = json.dumps(coco_cut)
    path = tmp_path / 'ann.json'
    if cut == 'truncated':  # e.g. an interrupted download
        path.write_text(raw[:len(raw) // 2])
        match = r"ann\.json' is not valid JSON \(truncated\?\)"
    elif cut == 'not_json':  # an image given as the annotation file
        shutil.copy(tmp_path / 'val2017' / coco_cut['images'][0]['file_name'], path)
        match = r"ann\.json' is not valid JSON"
    else:
        path.write_text(json.dumps(coco_cut['annotations']))
        match = r"ann\.json' must hold a JSON object"
    with pytest.raises(DataFileError, match=match):
        _build(str(path))


def test_missing_annotation_file(tmp_path):
    with pytest.raises(DataFileError, match=r"nope\.json' does not exist"):
        _build(str(tmp_path / 'nope.json'))


def test_missing_image_file_fails_before_training(tmp_path, coco_cut):
    gone = coco_cut['images'][1]
    os.remove(tmp_path / 'val2017' / gone['file_name'])
    with pytest.raises(DataFileError, match=rf"ann\.json: 1 image files do not exist: "
                       rf".*{gone['file_name']} \(image id {gone['id']}\)"):
        _build(_write(tmp_path, coco_cut))
    ds = _build(_write(tmp_path, coco_cut), check_images=False)  # the documented opt-out
    assert len(ds) == NUM_IMAGES


def test_image_that_is_not_an_image_fails_at_its_sample(tmp_path, coco_cut):
    bad = coco_cut['images'][1]
    (tmp_path / 'val2017' / bad['file_name']).write_bytes(b'<html>404 Not Found</html>')
    ds = _build(_write(tmp_path, coco_cut))
    assert ds[0]['img'] is not None  # the other images load
    with pytest.raises(DataFileError, match=rf"ann\.json: image id {bad['id']}: "
                       rf".*{bad['file_name']}' is not an image file"):
        ds[1]


def test_box_entirely_outside_its_image_is_an_error(tmp_path, coco_cut):
    ann = coco_cut['annotations'][4]
    im = next(i for i in coco_cut['images'] if i['id'] == ann['image_id'])
    ann['bbox'] = [im['width'] + 5, 10.0, 20.0, 20.0]
    with pytest.raises(DataFileError, match=rf"ann\.json: boxes entirely outside their image.*"
                       rf"annotations\[4\] \(id={ann['id']}, image_id={im['id']}\)"):
        _build(_write(tmp_path, coco_cut))


def test_box_partly_outside_warns_and_is_clipped(tmp_path, coco_cut):
    ann = coco_cut['annotations'][0]
    im = next(i for i in coco_cut['images'] if i['id'] == ann['image_id'])
    idx = [i['id'] for i in coco_cut['images']].index(im['id'])
    ann['bbox'] = [im['width'] - 30.0, 5.0, 50.0, 40.0]  # 20 px past the right edge
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='Resize', scale=(im['width'], im['height']), keep_ratio=True)]
    with log_records() as records:
        ds = _build(_write(tmp_path, coco_cut), pipeline=pipeline)
    (msg, ) = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert re.search(rf"ann\.json: 1 boxes extend more than 1 px past their image; "
                     rf"they are clipped to it: annotations\[0\] \(id={ann['id']}", msg), msg
    boxes = ds[idx]['gt_bboxes'].tensor.numpy()
    assert boxes[:, 2].max() <= im['width'] and boxes.min() >= 0
    assert np.isclose(boxes[:, 2], im['width']).any()  # the clipped one


def test_unknown_category_id(tmp_path, coco_cut):
    coco_cut['annotations'][2]['category_id'] = 999  # mmdet: KeyError 999 in parse_data_info
    with pytest.raises(DataFileError, match=r"ann\.json: annotations whose category_id is not "
                       r"in \"categories\": annotations\[2\] .*category_id=999"):
        _build(_write(tmp_path, coco_cut))


@needs_shared
def test_lvis_file_given_as_coco():
    ann = osp.join(SHARED, 'lvis-v0.5-val100', 'lvis_val_100.json')
    with pytest.raises(DataFileError, match=r'lvis_val_100\.json: this is an LVIS file .*'
                       'OWPLVISV1Dataset'):
        _build(ann, check_images=False)


def test_coco_file_given_as_lvis(tmp_path, coco_cut):
    with pytest.raises(DataFileError, match=r'ann\.json: this is a COCO file .*CocoDataset'):
        _build(_write(tmp_path, coco_cut), type_='OWPLVISV1Dataset', split='lvis-freq')


@needs_shared
def test_lvis_file_as_lvis_passes_the_checks():
    with open(osp.join(SHARED, 'lvis-v0.5-val100', 'lvis_val_100.json')) as f:
        data = json.load(f)
    assert check_annotation_dict(data, 'lvis_val_100.json', 'lvis') == []


@pytest.mark.parametrize('edit,match', [
    (lambda d: d['annotations'][1].update(bbox=[1, 2, float('nan'), 4]),
     r'bbox must be .*annotations\[1\]'),
    (lambda d: d['annotations'][1].update(bbox=[1, 2, -3, 4]), r'annotations\[1\]'),
    (lambda d: d['annotations'][1].update(image_id=-7),
     r'image ids that are not in "images": annotations\[1\]'),
    (lambda d: d['images'][2].update(id=d['images'][0]['id']), r'duplicate image ids: images\[2\]'),
    (lambda d: d['images'][0].update(width=0), r'positive width/height: images\[0\]'),
    (lambda d: d.pop('categories'), r"no 'categories' list"),
])
def test_check_annotation_dict_names_the_entry(coco_cut, edit, match):
    edit(coco_cut)
    with pytest.raises(DataFileError, match=r'^f\.json: .*' + match):
        check_annotation_dict(coco_cut, 'f.json', 'coco')


def test_degenerate_box_inside_its_image_is_left_to_mmdet(coco_cut):
    """mmdet drops boxes under 1 px wide or high; that is not 'outside the image'."""
    coco_cut['annotations'][1]['bbox'] = [5.0, 5.0, 0.0, 10.0]
    assert check_annotation_dict(coco_cut, 'f.json', 'coco') == []


def test_bad_val_file_stops_training_before_the_first_iteration(tiny_shapes, tmp_path):
    """The runner builds the val dataset when train() starts: the error comes first."""
    from conftest import SHAPES_ROOT_CONFIG, point_config_at
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    root = tmp_path / 'shapes'
    shutil.copytree(tiny_shapes, root)
    ann = root / 'annotations' / 'instances_val.json'
    data = json.loads(ann.read_text())
    data['annotations'][3]['category_id'] = 77
    ann.write_text(json.dumps(data))
    cfg = point_config_at(Config.fromfile(SHAPES_ROOT_CONFIG), str(root) + '/',
                          work_dir=tmp_path / 'work', max_iters=2)
    iters = []

    class _Count(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            iters.append(runner.iter)

    runner = Runner.from_cfg(cfg)
    runner.register_hook(_Count())
    with pytest.raises(DataFileError, match=r'instances_val\.json: annotations whose '
                       r'category_id is not in "categories": annotations\[3\]'):
        runner.train()
    assert iters == []
