"""owp.analysis: figure style, training curves and the fig. 6 grid, objectness maps (fig. 7),
score dumps of any study, and the three notebooks that show them (run with nbclient).

Runs are made by hand where hand-made is as real as trained: mmengine's scalars.json
lines and dumped configs as a training writes them, score dumps as OWPScoreDump writes
them, and checkpoints of real (untrained) models of the shapes configs.
"""
import glob
import importlib.util
import json
import os
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import CONFIGS, REPO  # noqa: E402

from owp.analysis import (  # noqa: E402
    PALETTE,
    figure6_grid,
    figure6_lines,
    figure6_references,
    find_runs,
    find_score_dumps,
    fuse_levels,
    gt_boxes,
    loss_change,
    pick_images,
    plot_curves,
    plot_figure6,
    read_scalars,
    row_colors,
    run_settings,
    save_figure,
    score_labels,
    seed_bands,
    study_scalars,
)

STAMP = '20260101_000000'


# ------------------------------------------------------------------ hand-made runs
def _train(it, **losses):
    return dict(lr=0.01, data_time=0.01, time=0.1, iter=it, memory=0, step=it, **losses)


def _val(it, **metrics):
    # what LoggerHook(log_metric_by_epoch=False) writes after a validation
    return dict(data_time=0.01, time=0.1, step=it, **metrics)


def _config_text(cls_mode='joint', masking=None, load_from=None, score_mode='logits*iou'):
    head = dict(type='OWPFCOSHead', cls_mode=cls_mode)
    if masking:
        head['unknown_masking'] = dict(thr=masking[0], start_iter=masking[1])
    return (f'model = dict(type="FCOS", bbox_head={head!r}, '
            f'test_cfg=dict(score_mode={score_mode!r}))\nload_from = {load_from!r}\n')


def _run(root, row, seed, lines, config=None):
    """A run folder as mmengine writes it: <row>/seed<S>/<stamp>/vis_data/{scalars,config}."""
    vis = osp.join(str(root), row, f'seed{seed}', STAMP, 'vis_data')
    os.makedirs(vis, exist_ok=True)
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        f.writelines(json.dumps(line) + '\n' for line in lines)
    if config is not None:
        with open(osp.join(vis, 'config.py'), 'w') as f:
            f.write(config)
    return osp.dirname(osp.dirname(vis))


@pytest.fixture(scope='module')
def study_dir(tmp_path_factory):
    """A study work dir: fcos (2 seeds, validated) and owp (1 seed), with a score dump."""
    root = tmp_path_factory.mktemp('study')
    for seed, (a, b) in enumerate([(3.0, 1.0), (1.0, 3.0)]):
        _run(root, 'fcos', seed, [
            _train(10, loss=a + 1, loss_cls=a, loss_centerness=0.64),
            _train(20, loss=2.0 + 1, loss_cls=2.0, loss_centerness=0.63),
            _val(20, **{'base/AP': 0.1 * (seed + 1), 'novel/AR@100': 0.2}),
            _train(30, loss=b + 1, loss_cls=b, loss_centerness=0.61),
            _val(30, **{'base/AP': 0.3, 'novel/AR@100': 0.4 + 0.1 * seed})],
            _config_text(score_mode='logits*centerness'))
    _run(root, 'owp', 0, [_train(10, loss=1.5, loss_cls=0.0, loss_iou=0.62),
                          _train(20, loss=1.2, loss_cls=0.0, loss_iou=0.55),
                          _train(30, loss=1.0, loss_cls=0.0, loss_iou=0.50),
                          _val(30, **{'novel/AR@100': 0.5})],
         _config_text(cls_mode='untrained', score_mode='iou'))
    rng = np.random.default_rng(0)
    for run, tag in (('fcos/seed0', 'logitsxcenterness'), ('owp/seed0', 'iou')):
        out = root / run / f'eval_{tag}'
        out.mkdir(parents=True)
        n = 60
        np.savez_compressed(out / 'scores.npz', img_id=np.repeat(np.arange(6), 10),
                            score=rng.random(n), novel_iou=rng.random(n), base_iou=rng.random(n),
                            centerness=rng.random(n), iou=rng.random(n))
    return str(root)


@pytest.fixture(scope='module')
def fig6_dir(tmp_path_factory):
    """Figure-6-style runs whose names say nothing: settings live in their configs only."""
    root = tmp_path_factory.mktemp('fig6')

    def lines(ap, ar):
        return [_train(50, loss=1.0), _val(50, **{'base/AP': ap[0], 'novel/AR@100': ar[0]}),
                _train(100, loss=0.9), _val(100, **{'base/AP': ap[1], 'novel/AR@100': ar[1]})]
    _run(root, 'r1', 0, lines((0.10, 0.20), (0.30, 0.40)), _config_text(masking=(0.925, 55)))
    _run(root, 'r1', 1, lines((0.20, 0.30), (0.50, 0.60)), _config_text(masking=(0.925, 55)))
    _run(root, 'r2', 0, lines((0.05, 0.06), (0.07, 0.08)), _config_text(masking=(0.95, 10)))
    _run(root, 'r3', 0, lines((0.11, 0.12), (0.13, 0.14)),
         _config_text(masking=(0.925, 10), load_from='/ckpt/iter_1000.pth'))
    # still training, not validated yet: left out with a warning
    _run(root, 'r4', 0, [_train(50, loss=1.0)], _config_text(masking=(0.95, 333)))
    # the OWP model the finetune rows start from: no masking, not in the grid
    _run(root, 'base', 0, lines((0.0, 0.0), (0.3, 0.3)),
         _config_text(cls_mode='untrained', score_mode='iou'))
    # each recipe without masking, finished (metrics.json): the figure's reference levels
    for seed, (ap, ar) in enumerate([(0.4, 0.6), (0.5, 0.7)]):
        _finished(_run(root, 'ref', seed, [_train(100, loss=1.0)], _config_text()),
                  {'logits*iou': {'base/AP': ap, 'novel/AR@100': ar}})
    _run(root, 'ref', 2, [_train(50, loss=1.0)], _config_text())  # still training: left out
    _finished(_run(root, 'ft', 0, [_train(100, loss=1.0)], _config_text(load_from='/c.pth')),
              {'iou': {'base/AP': 0.0, 'novel/AR@100': 0.9},  # not its score mode
               'logits*iou': {'base/AP': 0.2, 'novel/AR@100': 0.3}})
    return str(root)


def _finished(run_dir, scores):
    """What the experiments runner writes when a run's evaluation ends."""
    with open(osp.join(run_dir, 'metrics.json'), 'w') as f:
        json.dump(dict(scores=scores), f)
    return run_dir


def _tiny_run(root, name, data_root, seed, config_name):
    """A run folder with a real config dump and an (untrained) checkpoint of its model."""
    import torch
    from conftest import point_config_at, shrink_images
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import owp.registration  # noqa: F401
    cfg = Config.fromfile(osp.join(CONFIGS, 'shapes', config_name))
    point_config_at(cfg, data_root)
    shrink_images(cfg)
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    run = osp.join(root, name, 'seed0')
    os.makedirs(osp.join(run, STAMP, 'vis_data'))
    cfg.dump(osp.join(run, STAMP, 'vis_data', 'config.py'))
    ckpt = osp.join(run, 'iter_1.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    with open(osp.join(run, 'last_checkpoint'), 'w') as f:
        f.write(ckpt)
    return run


@pytest.fixture(scope='module')
def map_runs(tiny_shapes, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('maps'))
    return {'ctr-iou': _tiny_run(root, 'ctr-iou', tiny_shapes, 0,
                                 'fcos-owp-ctr-iou_r18-tiny_fpn_1k_shapes.py'),
            'iou': _tiny_run(root, 'iou', tiny_shapes, 1,
                             'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py')}


# ------------------------------------------------------------------ style
def test_row_colors_seeds_share_their_rows_colour():
    colors = row_colors(['fcos/seed0', 'fcos/seed1', 'owp-iou/seed0', 'owp-iou'])
    assert colors['fcos/seed0'] == colors['fcos/seed1'] == colors['fcos'] == PALETTE[0]
    assert colors['owp-iou/seed0'] == colors['owp-iou'] == PALETTE[1]
    # the order given decides, so a study's row keeps its colour in every figure
    assert row_colors(['b', 'a'])['b'] == PALETTE[0]
    many = row_colors([f'r{i}' for i in range(len(PALETTE) + 1)])
    assert len(set(many.values())) == len(PALETTE)
    assert many[f'r{len(PALETTE)}'] == PALETTE[0]


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    out = save_figure(fig, str(tmp_path / 'sub' / 'fig.png'))
    plt.close(fig)
    assert out == [str(tmp_path / 'sub' / 'fig.png'), str(tmp_path / 'sub' / 'fig.pdf')]
    assert open(out[0], 'rb').read(4) == b'\x89PNG'
    assert open(out[1], 'rb').read(4) == b'%PDF'


# ------------------------------------------------------------------ runs and curves
def test_find_runs_and_score_dumps(study_dir):
    runs = find_runs(study_dir)
    assert list(runs) == ['fcos/seed0', 'fcos/seed1', 'owp/seed0']
    assert find_runs(runs['owp/seed0']) == {'owp/seed0': runs['owp/seed0']}
    dumps = find_score_dumps(study_dir)
    # the runner's folder tag is read back as the score mode
    assert list(dumps) == ['fcos/seed0: logits*centerness', 'owp/seed0: iou']
    # legends name each row's validation score mode, read from the dumped configs
    assert score_labels(study_dir) == {'fcos': 'fcos (logits*centerness)', 'owp': 'owp (iou)'}


def test_score_histograms_script(study_dir, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'score_histograms', osp.join(REPO, 'scripts', 'score_histograms.py'))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main([study_dir, '--key', 'iou', '--out', str(tmp_path / 'h')]) == 0
    assert (tmp_path / 'h.png').is_file() and (tmp_path / 'h.pdf').is_file()
    with pytest.raises(SystemExit):  # no run has a cls_prob column
        script.main([study_dir, '--key', 'cls_prob', '--out', str(tmp_path / 'h')])


def test_seed_bands_of_two_seeds(study_dir):
    table = study_scalars(study_dir)
    bands = seed_bands(table)
    cls = bands[(bands.row == 'fcos') & (bands.metric == 'loss_cls')]
    # seed 0: 3, 2, 1 and seed 1: 1, 2, 3 at iterations 10, 20, 30
    assert cls.iteration.tolist() == [10, 20, 30]
    np.testing.assert_allclose(cls['mean'], [2, 2, 2])
    np.testing.assert_allclose(cls['min'], [1, 2, 1])
    np.testing.assert_allclose(cls['max'], [3, 2, 3])
    assert cls.n.tolist() == [2, 2, 2]
    ar = bands[(bands.row == 'fcos') & (bands.metric == 'novel/AR@100')]
    np.testing.assert_allclose(ar['mean'], [0.2, 0.45])
    np.testing.assert_allclose(ar['max'], [0.2, 0.5])
    # smoothed per seed before the band (window 3): seed 0 -> 2.5, 2, 1.5; seed 1 -> 1.5, 2, 2.5
    smooth = seed_bands(table, smooth=3)
    cls2 = smooth[(smooth.row == 'fcos') & (smooth.metric == 'loss_cls')]
    np.testing.assert_allclose(cls2['min'], [1.5, 2, 1.5])
    assert set(seed_bands(table, by_row=False).row) == {'fcos/seed0', 'fcos/seed1', 'owp/seed0'}
    change = loss_change(table, smooth=1).set_index(['row', 'metric'])
    assert change.loc[('owp', 'loss_iou'), 'first'] == pytest.approx(0.62)
    assert change.loc[('owp', 'loss_iou'), 'change'] == pytest.approx(-0.12)
    assert change.loc[('fcos', 'loss_centerness'), 'seeds'] == 2


def test_plot_curves_draws_mean_and_band(study_dir, tmp_path):
    table = study_scalars(study_dir)
    fig = plot_curves(table, metrics=['novel/AR@100'], losses=['loss_cls'], smooth=1,
                      rows=['owp', 'fcos'], labels={'fcos': 'fcos (logits*centerness)'})
    ar, loss = fig.axes[0], fig.axes[1]
    fcos_line = [ln for ln in ar.get_lines() if ln.get_color() == PALETTE[1]]
    np.testing.assert_allclose(fcos_line[0].get_ydata(), [20, 45])  # mean, in percent
    band = ar.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(20) and band.max() == pytest.approx(50)
    # the single-seed row has no band; the study's order gave 'owp' the first colour
    assert [c.get_facecolor()[0][:3] for c in loss.collections] == \
        [pytest.approx(matplotlib.colors.to_rgb(PALETTE[1]))]
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    # in the study's row order, naming the score mode given, and how many seeds make the band
    assert texts == ['owp', 'fcos (logits*centerness) (mean of 2 seeds; band: min-max)']
    plt.close(fig)
    out = plot_curves(table, str(tmp_path / 'c.png'))
    assert out == str(tmp_path / 'c.png') and (tmp_path / 'c.pdf').is_file()


def test_figure6_grid_panels_and_lines(fig6_dir, tmp_path):
    settings = run_settings(osp.join(fig6_dir, 'r3', 'seed0'))
    assert (settings['recipe'], settings['unknown_thr'], settings['unknown_start']) == \
        ('finetune', 0.925, 10)
    with pytest.warns(UserWarning, match='no validation logged yet, left out: r4/seed0'):
        lines = figure6_grid(fig6_dir)
    keys = set(zip(lines.recipe, lines.thr, lines.start))
    assert keys == {('joint', 0.925, 55), ('joint', 0.95, 10), ('finetune', 0.925, 10)}
    r1 = lines[(lines.metric == 'novel/AR@100') & (lines.start == 55)]
    np.testing.assert_allclose(r1['mean'], [0.4, 0.5])  # seeds 0.3 / 0.5, 0.4 / 0.6
    np.testing.assert_allclose(r1['min'], [0.3, 0.4])
    assert r1.n.tolist() == [2, 2] and r1.runs.iloc[0] == 'r1/seed0,r1/seed1'
    fig = plot_figure6(lines, str(tmp_path / 'fig6'))
    axes = np.array(fig.axes[:len(fig.axes)]).reshape(2, 3)
    titles = [[ax.get_title() for ax in row] for row in axes]
    assert titles == [['base/AP: joint, masking thr 0.925', 'base/AP: joint, masking thr 0.95',
                       'base/AP: finetune, masking thr 0.925'],
                      ['novel/AR@100: joint, masking thr 0.925',
                       'novel/AR@100: joint, masking thr 0.95',
                       'novel/AR@100: finetune, masking thr 0.925']]
    drawn = {ln.get_label(): ln for ln in axes[1, 0].get_lines() if not ln.get_label()[0] == '_'}
    assert list(drawn) == ['from iteration 55 (2 seeds)']
    np.testing.assert_allclose(drawn['from iteration 55 (2 seeds)'].get_ydata(), [40, 50])
    # one colour per start iteration in every panel: 10 first, 55 second
    finetune = [ln for ln in axes[0, 2].get_lines() if ln.get_label() == 'from iteration 10']
    assert finetune[0].get_color() == PALETTE[0]
    np.testing.assert_allclose(finetune[0].get_ydata(), [11, 12])
    plt.close(fig)
    assert (tmp_path / 'fig6.png').is_file() and (tmp_path / 'fig6.pdf').is_file()


def test_figure6_references_are_each_recipe_without_masking(fig6_dir, tmp_path):
    refs = figure6_references(fig6_dir)
    got = {(r.metric, r.recipe, r.row): tuple(round(float(v), 6) for v in
                                              (r['mean'], r['min'], r['max'], r.n))
           for _, r in refs.iterrows()}
    assert got == ({
        ('base/AP', 'joint', 'ref'): (0.45, 0.4, 0.5, 2),
        ('novel/AR@100', 'joint', 'ref'): (0.65, 0.6, 0.7, 2),
        ('base/AP', 'finetune', 'ft'): (0.2, 0.2, 0.2, 1),       # under its config's score
        ('novel/AR@100', 'finetune', 'ft'): (0.3, 0.3, 0.3, 1)})  # mode, not 'iou'
    with pytest.warns(UserWarning):
        lines = figure6_grid(fig6_dir)
    fig = plot_figure6(lines, references=refs)
    axes = np.array(fig.axes).reshape(2, 3)  # joint 0.925, joint 0.95, finetune 0.925

    def level(ax):
        return {ln.get_label(): ln.get_ydata()[0] for ln in ax.get_lines()
                if 'no masking' in ln.get_label()}
    assert level(axes[0, 0]) == level(axes[0, 1]) == pytest.approx({'ref (no masking)': 45})
    assert level(axes[1, 2]) == pytest.approx({'ft (no masking)': 30})
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[-2:] == ['ref: no masking, final (mean of 2 seeds; band: min-max)',
                          'ft: no masking, final']
    plt.close(fig)
    # a finished run with several score modes, none of them its config's: which one is meant?
    _finished(_run(tmp_path, 'x', 0, [], _config_text(score_mode='logits*centerness')),
              {'iou': {}, 'logits*iou': {}})
    with pytest.raises(ValueError, match=r"x/seed0/metrics.json: no scores under the score mode "
                                         r"'logits\*centerness'.*has: iou, logits\*iou"):
        figure6_references(str(tmp_path))


def test_plot_curves_script_study_and_figure6(study_dir, fig6_dir, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'plot_curves', osp.join(REPO, 'scripts', 'plot_curves.py'))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main([fig6_dir, '--figure6', '--out', str(tmp_path / 'g'),
                        '--csv', str(tmp_path / 'g.csv')]) == 0
    assert (tmp_path / 'g.png').is_file() and (tmp_path / 'g.pdf').is_file()
    assert 'without masking (final test metrics' in capsys.readouterr().out
    import pandas as pd
    csv = pd.read_csv(tmp_path / 'g.csv')  # thresholds as set, not rounded to 2 decimals
    assert sorted(set(csv['thr'])) == [0.925, 0.95]
    assert script.main([study_dir, '--out', str(tmp_path / 'c'), '--losses', 'loss_cls']) == 0
    assert (tmp_path / 'c.png').is_file()
    assert 'fcos/seed1' in capsys.readouterr().out  # every seed's validation rows printed
    with pytest.raises(SystemExit):
        script.main(['--out', str(tmp_path / 'x')])  # neither work dirs nor --study


# ------------------------------------------------------------------ bad input
def test_bad_input_says_what_is_missing_and_how_to_make_it(tmp_path, fig6_dir):
    # a study work dir whose only run failed before logging anything
    failed = tmp_path / 'study' / 'fcos' / 'seed0'
    failed.mkdir(parents=True)
    (failed / 'state.json').write_text(json.dumps(dict(state='failed', error='CUDA OOM')))
    (failed / 'iter_0.pth').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match=r'fcos/seed0 \(failed: CUDA OOM\).*owp.experiments run'):
        study_scalars(str(tmp_path / 'study'))
    with pytest.raises(FileNotFoundError, match=r'score_dump: true.*owp.experiments evaluate'):
        find_score_dumps(str(tmp_path / 'study'))
    with pytest.raises(FileNotFoundError, match='no run folder'):
        find_runs(str(tmp_path))
    # a study whose work dir does not exist
    with pytest.raises(FileNotFoundError, match='python -m owp.experiments run appendixB_shapes'):
        find_runs('appendixB_shapes', str(tmp_path / 'nowhere'))
    # a run without scalars
    with pytest.raises(FileNotFoundError, match=r'no <timestamp>/vis_data/scalars.json'):
        read_scalars(str(failed))
    # a masking run that was not validated during training
    table = read_scalars([osp.join(fig6_dir, 'r2', 'seed0')])
    table = table[table.metric != 'base/AP']
    with pytest.raises(ValueError, match=r"r2/seed0 logged no validation 'base/AP'.*val_interval"):
        figure6_lines(table, {'r2/seed0': run_settings(osp.join(fig6_dir, 'r2', 'seed0'))})
    with pytest.raises(ValueError, match='no run uses unknown-object masking'):
        figure6_lines(table, {'r2/seed0': dict(recipe='joint', unknown_thr=None)})
    # a missing image
    from owp.analysis import compare_objectness_maps, objectness_maps
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        compare_objectness_maps({}, [str(tmp_path / 'nope.jpg')])
    with pytest.raises(FileNotFoundError, match='image .*nope.jpg does not exist'):
        objectness_maps(object(), str(tmp_path / 'nope.jpg'), None)


# ------------------------------------------------------------------ objectness maps
def test_fuse_levels_hand_checked():
    fine = np.array([[0.1, 0.2], [0.3, 0.4]])     # stride 2 over a 4x4 input
    coarse = np.array([[0.35]])                    # stride 4
    fused = fuse_levels([fine, coarse], [2, 4], (4, 3))
    assert fused.shape == (4, 3)
    assert fused[3, 1] == pytest.approx(0.35)      # cell (1, 0) = 0.3 < 0.35
    assert fused[3, 2] == pytest.approx(0.4)       # cell (1, 1) = 0.4
    assert fused[0, 0] == pytest.approx(0.35)
    np.testing.assert_allclose(fuse_levels([fine, coarse], [2, 4], (4, 3), 'mean')[0, 3 - 1],
                               (0.2 + 0.35) / 2)
    np.testing.assert_allclose(fuse_levels([fine, coarse], [2, 4], (4, 4), 0)[2:, 2:], 0.4)
    with pytest.raises(ValueError, match='does not cover'):
        fuse_levels([fine], [2], (5, 4))


def test_gt_boxes_base_and_novel(tiny_shapes):
    from owp.datasets.splits import resolve_split
    ann_file = osp.join(tiny_shapes, 'annotations', 'instances_val.json')
    with open(ann_file) as f:
        ann = json.load(f)
    images = pick_images(ann_file, osp.join(tiny_shapes, 'val'), 2)
    sp = resolve_split('shapes', ann['categories'])
    counts = [sum(a['image_id'] == im['id'] and a['category_id'] in sp.novel_ids
                  for a in ann['annotations']) for im in ann['images']]
    first = [im for im in ann['images'] if im['file_name'] == osp.basename(images[0])][0]
    assert counts[ann['images'].index(first)] == max(counts)  # most novel objects first
    boxes = gt_boxes(ann_file, images[0])
    novel = [a['bbox'] for a in ann['annotations'] if a['image_id'] == first['id']
             and a['category_id'] in sp.novel_ids]
    x, y, w, h = novel[0]
    np.testing.assert_allclose(boxes['novel'][0], [x, y, x + w, y + h])
    assert len(boxes['novel']) == len(novel) and len(boxes['base']) + len(novel) == \
        sum(a['image_id'] == first['id'] for a in ann['annotations'])
    with pytest.raises(KeyError, match="no image 'x.jpg'"):
        gt_boxes(ann_file, 'x.jpg')


def test_compare_objectness_maps_side_by_side(map_runs, tiny_shapes, tmp_path):
    from matplotlib.patches import Rectangle

    from owp.analysis import compare_objectness_maps, load_detector, objectness_maps
    from owp.analysis.objectness_maps import GT_STYLE
    # a run folder (its last checkpoint), or one checkpoint of a run with the run's config
    models = {'ctr-iou': load_detector(map_runs['ctr-iou']),
              'iou': load_detector(osp.join(map_runs['iou'], 'iter_1.pth'))}
    ann_file = osp.join(tiny_shapes, 'annotations', 'instances_val.json')
    images = pick_images(ann_file, osp.join(tiny_shapes, 'val'), 2)
    fig = compare_objectness_maps(models, images, ann_file, out_file=str(tmp_path / 'f7'))
    assert (tmp_path / 'f7.png').is_file() and (tmp_path / 'f7.pdf').is_file()
    # columns: input, ctr-iou's centerness and iou, iou's iou; one row per image
    grid = np.array(fig.axes[:2 * 4]).reshape(2, 4)
    assert [ax.get_title() for ax in grid[0]] == [
        'input + ground truth', 'ctr-iou\ncenterness map', 'ctr-iou\niou map', 'iou\niou map']
    # the panel shows the model's levels fused: check a pixel by hand
    res = objectness_maps(models['iou'], images[1], models['iou'].cfg)
    shown = grid[1, 3].get_images()[0].get_array()
    y, x = 37, 21
    expected = max(level['iou'][y // s, x // s] for level, s in zip(res['maps'], res['strides']))
    assert shown[y, x] == pytest.approx(expected, abs=1e-6)
    # every ground-truth box drawn on the input, novel and base in their colours
    boxes = gt_boxes(ann_file, images[1])
    rects = [p for p in grid[1, 0].patches if isinstance(p, Rectangle)]
    want = matplotlib.colors.to_rgba(GT_STYLE['novel']['color'])
    assert sum(p.get_edgecolor() == want for p in rects) == len(boxes['novel'])
    assert len(rects) == len(boxes['novel']) + len(boxes['base'])
    plt.close(fig)


def test_objectness_maps_script_compares_runs(map_runs, tiny_shapes, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'objectness_maps_script', osp.join(REPO, 'scripts', 'objectness_maps.py'))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ann = osp.join(tiny_shapes, 'annotations', 'instances_val.json')
    out = tmp_path / 'fig7'
    assert script.main(['--run', f'a={map_runs["iou"]}', '--ann', ann, '--image-dir', osp.join(tiny_shapes, 'val'),
                        '--num-images', '1', '--out', str(out)]) == 0
    assert (tmp_path / 'fig7.png').is_file() and (tmp_path / 'fig7.pdf').is_file()
    with pytest.raises(SystemExit):
        script.main(['--run', map_runs['iou'], '--images', str(tmp_path / 'missing.jpg'),
                     '--out', str(out)])


# ------------------------------------------------------------------ notebooks
def _execute(name, cwd, env):
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    nb = nbformat.read(osp.join(REPO, 'analysis', name), as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:  # the kernel inherits the environment: the notebooks' parameter cells read it
        nbclient.NotebookClient(nb, timeout=300, kernel_name='python3',
                                resources={'metadata': {'path': str(cwd)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def test_notebooks_run_on_tiny_runs(study_dir, fig6_dir, map_runs, tiny_shapes, tmp_path):
    figs = tmp_path / 'figures'
    _execute('score_distributions.ipynb', tmp_path,
             {'OWP_STUDY': study_dir, 'OWP_FIGURES_DIR': str(figs)})
    assert sorted(p.name for p in figs.iterdir()) == [
        'centerness_hist.pdf', 'centerness_hist.png', 'iou_hist.pdf', 'iou_hist.png',
        'score_hist.pdf', 'score_hist.png']
    nb = _execute('training_curves.ipynb', tmp_path,
                  {'OWP_STUDY': study_dir, 'OWP_FIGURE6_STUDY': fig6_dir,
                   'OWP_FIGURES_DIR': str(figs)})
    for name in ('losses', 'validation', 'figure6'):
        assert (figs / f'{name}.png').is_file() and (figs / f'{name}.pdf').is_file()
    text = json.dumps([c.get('outputs') for c in nb.cells if c.cell_type == 'code'])
    assert 'loss_centerness' in text and 'figure 6 not drawn' not in text
    _execute('objectness_maps.ipynb', tmp_path,
             {'OWP_MAP_RUNS': json.dumps(map_runs), 'OWP_DATA_ROOT': tiny_shapes,
              'OWP_FIGURES_DIR': str(figs)})
    assert (figs / 'objectness_maps.png').is_file()
    assert not glob.glob(osp.join(REPO, 'analysis', 'figures'))  # nothing written into the repo
