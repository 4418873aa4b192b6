"""Split-aware COCO and LVIS v1 datasets on tiny generated annotation files."""
import json

import pytest
from mmdet.registry import DATASETS
from mmengine.registry import init_default_scope

import owp.registration  # noqa: F401  (registers the datasets)


def _coco(tmp_path):
    cats = [dict(id=1, name='person'), dict(id=3, name='car'), dict(id=5, name='zebra'),
            dict(id=9, name='kite')]
    images = [dict(id=i, file_name=f'{i}.jpg', width=64, height=48) for i in (1, 2, 3)]
    anns = [  # image 1: base + novel, image 2: novel only, image 3: base only
        dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 10, 10], area=100, iscrowd=0),
        dict(id=2, image_id=1, category_id=5, bbox=[20, 20, 10, 10], area=100, iscrowd=0),
        dict(id=3, image_id=2, category_id=9, bbox=[5, 5, 10, 10], area=100, iscrowd=0),
        dict(id=4, image_id=3, category_id=3, bbox=[5, 5, 10, 10], area=100, iscrowd=0),
    ]
    path = tmp_path / 'coco.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(path)


def _lvis(tmp_path):
    freqs = ['r'] * 3 + ['c'] * 3 + ['f'] * 310
    cats = [dict(id=i + 1, name=f'c{i + 1}', frequency=f, synset=f's{i}', image_count=1,
                 instance_count=1, synonyms=[], def_='') for i, f in enumerate(freqs)]
    images = [dict(id=i, width=64, height=48, coco_url=f'http://images.cocodataset.org/'
                   f'train2017/{i:012d}.jpg', neg_category_ids=[],
                   not_exhaustive_category_ids=[]) for i in (1, 2)]
    anns = [dict(id=1, image_id=1, category_id=2, bbox=[1, 1, 10, 10], area=100),
            dict(id=2, image_id=1, category_id=316, bbox=[9, 9, 10, 10], area=100),  # novel f
            dict(id=3, image_id=2, category_id=315, bbox=[3, 3, 10, 10], area=100)]  # novel f
    path = tmp_path / 'lvis.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(path)


def _build(type_, ann, **kw):
    init_default_scope('mmdet')
    # annotation files only: no image files to check
    cfg = dict(type=type_, ann_file=ann, data_prefix=dict(img=''), pipeline=[],
               filter_cfg=dict(filter_empty_gt=True, min_size=0), check_images=False)
    cfg.update(kw)
    return DATASETS.build(cfg)


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_coco_base_split_drops_novel_and_empty_images(tmp_path):
    ds = _build('OWPCocoDataset', _coco(tmp_path), split=dict(base=['person', 'car'],
                                                                 novel=['zebra', 'kite']))
    assert ds.metainfo['classes'] == ('person', 'car')
    assert [d['img_id'] for d in infos(ds)] == [1, 3]  # image 2 had only novel objects
    labels = {d['img_id']: [i['bbox_label'] for i in d['instances']] for d in infos(ds)}
    assert labels == {1: [0], 3: [1]}


def test_coco_novel_subset_for_evaluation(tmp_path):
    ds = _build('OWPCocoDataset', _coco(tmp_path), subset='novel', test_mode=True,
                split=dict(base=['person', 'car'], novel=['zebra', 'kite']))
    assert ds.metainfo['classes'] == ('zebra', 'kite')
    assert len(ds) == 3  # test mode keeps every image


def test_lvis_freq_split(tmp_path):
    ds = _build('OWPLVISV1Dataset', _lvis(tmp_path), split='lvis-freq')
    assert len(ds.metainfo['classes']) == 3 + 3 + 305
    assert [d['img_id'] for d in infos(ds)] == [1]
    assert [i['bbox_label'] for i in infos(ds)[0]['instances']] == [1]
    assert infos(ds)[0]['instances'][0]['ignore_flag'] == 0  # no iscrowd in LVIS
    novel = _build('OWPLVISV1Dataset', _lvis(tmp_path), split='lvis-freq', subset='novel',
                   test_mode=True)
    assert novel.metainfo['classes'] == tuple(f'c{i}' for i in range(312, 317))


def test_unknown_class_names_the_file(tmp_path):
    ann = _coco(tmp_path)
    with pytest.raises(ValueError, match=r"coco.json: .*unknown base class 'persn'"):
        _build('OWPCocoDataset', ann, split=dict(base=['persn'], novel=['kite']))


def test_classes_come_from_the_split_only(tmp_path):
    with pytest.raises(ValueError, match='not metainfo.classes'):
        _build('OWPCocoDataset', _coco(tmp_path), split='coco-voc',
               metainfo=dict(classes=('person', )))


def test_coco_format_file_with_non_coco_class_names(tmp_path):
    """Names outside mmdet's 80 COCO classes (shapes, custom data) are kept."""
    ann = json.loads(open(_coco(tmp_path)).read())
    for c, name in zip(ann['categories'], ('star', 'widget', 'ring', 'person')):
        c['name'] = name
    path = tmp_path / 'custom.json'
    path.write_text(json.dumps(ann))
    ds = _build('OWPCocoDataset', str(path), split=dict(base=['star', 'widget'],
                                                        novel=['ring', 'person']))
    assert ds.metainfo['classes'] == ('star', 'widget')
    labels = {d['img_id']: [i['bbox_label'] for i in d['instances']] for d in infos(ds)}
    assert labels == {1: [0], 3: [1]}
    novel = _build('OWPCocoDataset', str(path), subset='novel', test_mode=True,
                   split=dict(base=['star', 'widget'], novel=['ring', 'person']))
    labels = {d['img_id']: [i['bbox_label'] for i in d['instances']] for d in infos(novel)}
    assert labels == {1: [0], 2: [1], 3: []}
