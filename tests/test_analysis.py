"""owp.analysis: score dumps, tables, histograms, and the score-distribution notebook."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from owp.analysis import (
    load_score_dump,
    plot_score_histograms,
    proposal_groups,
    recall_table,
    to_markdown,
)
from owp.evaluation.metrics import OWPRecallMetric, OWPScoreDump

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_box_iou_matches_hand_values():
    """The deprecated xyxy IoU of owp.analysis, now the evaluator's IoU."""
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], float)
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10]], float)
    with pytest.warns(DeprecationWarning, match='box_iou_xywh'):
        from owp.analysis import box_iou_xyxy
    iou = box_iou_xyxy(a, b)
    assert iou.shape == (2, 2)
    assert iou[0, 0] == pytest.approx(25 / 175)
    assert iou[0, 1] == 1.0
    assert (iou[1] == 0).all()  # degenerate box: no NaN


def _write_ann(path):
    coco = dict(
        images=[dict(id=1, width=100, height=100, file_name='a.jpg'),
                dict(id=2, width=100, height=100, file_name='b.jpg')],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 20, 20], area=400, iscrowd=0),
            dict(id=2, image_id=1, category_id=2, bbox=[50, 50, 30, 30], area=900, iscrowd=0),
            dict(id=3, image_id=2, category_id=2, bbox=[10, 10, 10, 10], area=100, iscrowd=1),
        ],
        categories=[dict(id=1, name='cat'), dict(id=2, name='zebra')])
    with open(path, 'w') as f:
        json.dump(coco, f)


def _dump(tmp_path, out_name='run/eval_iou/scores.npz', **kw):
    ann = tmp_path / 'ann.json'
    _write_ann(ann)
    out = tmp_path / out_name
    metric = OWPScoreDump(ann_file=str(ann), out_file=str(out),
                          **(kw or dict(split=dict(base=['cat'], novel=['zebra']))))
    metric.dataset_meta = dict(classes=('cat', ))
    p1 = InstanceData(bboxes=torch.tensor([[0., 0, 20, 20], [50, 50, 80, 80], [90, 90, 99, 99]]),
                      scores=torch.tensor([.9, .8, .1]), labels=torch.zeros(3, dtype=torch.long),
                      iou=torch.tensor([.7, .6, .2]))
    p2 = InstanceData(bboxes=torch.tensor([[10., 10, 20, 20]]), scores=torch.tensor([.5]),
                      labels=torch.zeros(1, dtype=torch.long), iou=torch.tensor([.4]))
    metric.process({}, [dict(img_id=1, pred_instances=p1), dict(img_id=2, pred_instances=p2)])
    res = metric.compute_metrics(metric.results)
    return out, res


def test_score_dump_labels_proposals_by_split(tmp_path):
    out, res = _dump(tmp_path)
    assert res['num_proposals'] == 4
    d = load_score_dump(str(out))
    np.testing.assert_allclose(d['score'], [.9, .8, .1, .5])
    np.testing.assert_allclose(d['iou'], [.7, .6, .2, .4])
    assert 'centerness' not in d  # only components the head attached
    np.testing.assert_allclose(d['base_iou'], [1, 0, 0, 0])
    np.testing.assert_allclose(d['novel_iou'], [0, 1, 0, 0])  # the crowd box is not a target
    g = proposal_groups(d)
    assert g['base object'].tolist() == [True, False, False, False]
    assert g['novel object'].tolist() == [False, True, False, False]
    assert g['background'].tolist() == [False, False, True, True]


def test_score_dump_rejects_unknown_base_class(tmp_path):
    ann = tmp_path / 'ann.json'
    _write_ann(ann)
    metric = OWPScoreDump(ann_file=str(ann), out_file=str(tmp_path / 'x.npz'),
                          split=dict(base=['dog'], novel=['zebra']))
    with pytest.raises(ValueError, match=r"ann.json.*'dog'"):
        metric.compute_metrics([])


def test_score_dump_without_split_is_deprecated_and_keeps_its_meaning(tmp_path):
    """Old spelling: base = base_classes or the dataset classes, novel = the rest."""
    with pytest.warns(DeprecationWarning, match='split'):
        out, _ = _dump(tmp_path, 'old/scores.npz', base_classes=None)
    new, _ = _dump(tmp_path, 'new/scores.npz')
    old, new = load_score_dump(str(out)), load_score_dump(str(new))
    for k in new:
        np.testing.assert_array_equal(old[k], new[k])
    with pytest.warns(DeprecationWarning):
        metric = OWPScoreDump(ann_file=str(tmp_path / 'ann.json'), out_file=str(tmp_path / 'x'),
                              base_classes=['dog'])
    with pytest.raises(ValueError, match='dog'):
        metric.compute_metrics([])
    with pytest.raises(ValueError, match='not both'):
        OWPScoreDump(ann_file='a.json', out_file='x', split='shapes', base_classes=['cat'])


def test_old_score_dump_import_paths_warn():
    import importlib
    import sys
    sys.modules.pop('owp.analysis.score_dump', None)
    with pytest.warns(DeprecationWarning, match='owp.evaluation.metrics'):
        old = importlib.import_module('owp.analysis.score_dump')
    assert old.OWPScoreDump is OWPScoreDump and old.load_score_dump is load_score_dump
    with pytest.warns(DeprecationWarning, match='owp.evaluation.metrics.OWPScoreDump'):
        from owp.analysis import OWPScoreDump as moved
    assert moved is OWPScoreDump
    from mmdet.registry import METRICS
    assert METRICS.get('OWPScoreDump') is OWPScoreDump  # configs: registry type, unchanged


def test_score_dump_reads_old_logits_column(tmp_path):
    out = tmp_path / 'old.npz'
    np.savez(out, score=np.ones(2), logits=np.array([.2, .3]), novel_iou=np.zeros(2),
             base_iou=np.zeros(2))
    with pytest.warns(DeprecationWarning, match='cls_prob'):
        d = load_score_dump(str(out))
    assert 'logits' not in d and d['cls_prob'].tolist() == [.2, .3]


def test_score_dump_and_recall_metric_agree_on_what_is_novel(tmp_path):
    """On a split that leaves classes out, an object is novel to the score dump
    exactly when the recall metric counts it as a novel target."""
    cats = ['cat', 'zebra', 'yak', 'dog']  # base, novel, left out, novel
    anns = [dict(id=i + 1, image_id=1, category_id=i % 4 + 1, area=100.0, iscrowd=0,
                 bbox=[20.0 * i, 10.0 * (i % 3), 12, 9]) for i in range(8)]
    coco = dict(images=[dict(id=1, width=200, height=60, file_name='a.jpg')],
                annotations=anns, categories=[dict(id=i + 1, name=n) for i, n in enumerate(cats)])
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    split = dict(base=['cat'], novel=['zebra', 'dog'])
    dump_novel, recall_novel = [], []
    for a in anns:  # one proposal exactly on one object
        x, y, w, h = a['bbox']
        pred = InstanceData(bboxes=torch.tensor([[x, y, x + w, y + h]]),
                            scores=torch.tensor([.9]), labels=torch.zeros(1, dtype=torch.long))
        sample = dict(img_id=1, pred_instances=pred)
        dump = OWPScoreDump(ann_file=str(ann), out_file=str(tmp_path / 'd.npz'), split=split)
        dump.process({}, [sample])
        dump.compute_metrics(dump.results)
        dump_novel.append(bool(load_score_dump(str(tmp_path / 'd.npz'))['novel_iou'][0] >= 0.5))
        metric = OWPRecallMetric(ann_file=str(ann), split=split, max_dets=(100, ))
        metric.dataset_meta = dict(classes=('cat', ))
        metric.process({}, [sample])
        recall_novel.append(metric.compute_metrics(metric.results)['novel/AR@100'] > 0)
    assert dump_novel == recall_novel
    assert dump_novel == [False, True, False, True] * 2  # 'yak' is neither base nor novel


def test_recall_table_and_markdown():
    rows = [dict(experiment='a', score='iou', metrics={'novel/AR@100': 0.25, 'base/AR@100': .5})]
    df = recall_table(rows, ['novel/AR@100', 'base/AR@100'])
    assert df.loc[0, 'novel/AR@100'] == 25.0
    md = to_markdown(df)
    assert md.splitlines()[2] == '| a | iou | 25.00 | 50.00 |'
    rows[0]['metrics']['novel/ARl@100'] = -1.0
    assert to_markdown(recall_table(rows, ['novel/ARl@100'])).endswith('| n/a |')
    with pytest.raises(KeyError, match='novel/AR@10'):
        recall_table(rows, ['novel/AR@10'])


def test_histogram_png(tmp_path):
    out, _ = _dump(tmp_path)
    d = load_score_dump(str(out))
    png = plot_score_histograms({'a': d, 'b': d}, str(tmp_path / 'h.png'))
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_score_distribution_notebook_runs(tmp_path):
    nbformat = pytest.importorskip('nbformat')
    from nbconvert.preprocessors import ExecutePreprocessor
    _dump(tmp_path, 'run-a/eval_iou/scores.npz')
    _dump(tmp_path, 'run-b/eval_logitsxcenterness/scores.npz')
    nb = nbformat.read(osp.join(REPO, 'analysis', 'score_distributions.ipynb'), as_version=4)
    os.environ['OWP_RUNS_DIR'] = str(tmp_path)
    try:
        ExecutePreprocessor(timeout=120, kernel_name='python3').preprocess(
            nb, {'metadata': {'path': str(tmp_path)}})
    finally:
        del os.environ['OWP_RUNS_DIR']
    assert (tmp_path / 'score_hist.png').is_file()
    assert (tmp_path / 'iou_hist.png').is_file()


def test_objectness_maps_of_one_image(tiny_shapes, tmp_path):
    import glob
    import os.path as osp

    import cv2
    import torch
    from conftest import CONFIGS, REPO
    from mmdet.apis import init_detector
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from owp.analysis import objectness_maps, plot_objectness_maps
    config = osp.join(CONFIGS, 'shapes', 'fcos-owp-ctr-iou_r18-tiny_fpn_1k_shapes.py')
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    ckpt = tmp_path / 'm.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, ckpt)
    model = init_detector(cfg, str(ckpt), device='cpu')
    image = sorted(glob.glob(osp.join(tiny_shapes, 'val', '*.jpg')))[0]
    res = objectness_maps(model, image, model.cfg)
    h, w = res['image'].shape[:2]
    assert res['strides'] == list(model.bbox_head.strides)
    for level, s in zip(res['maps'], res['strides']):
        assert set(level) == {'centerness', 'iou'}
        for m in level.values():
            assert m.shape[0] * s >= h and m.shape[1] * s >= w  # covers the input
            assert m.min() >= 0 and m.max() <= 1
    # the same maps from an array as from the path
    arr = objectness_maps(model, cv2.imread(image), model.cfg)
    np.testing.assert_allclose(arr['maps'][0]['iou'], res['maps'][0]['iou'], atol=1e-6)
    out = plot_objectness_maps(res, str(tmp_path / 'maps.png'), boxes=[[2, 2, 20, 20]])
    assert osp.getsize(out) > 1000
    # the script, end to end
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, osp.join(REPO, 'scripts', 'objectness_maps.py'),
                           config, str(ckpt), image, '--out', str(tmp_path / 's.png')],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / 's.png').is_file()


def test_histogram_of_the_old_logits_key_warns_and_plots_cls_prob(tmp_path):
    d = dict(score=np.array([.2, .9, .5]), cls_prob=np.array([.3, .8, .1]),
             novel_iou=np.array([0, 1., 0]), base_iou=np.array([0, 0, 1.]))
    with pytest.warns(DeprecationWarning, match="key='cls_prob'"):
        png = plot_score_histograms({'a': d}, str(tmp_path / 'h.png'), key='logits')
    assert osp.isfile(png)
    with pytest.raises(KeyError):
        plot_score_histograms({'a': d}, str(tmp_path / 'h.png'), key='centerness')
