"""Recall against proposals (AR-k, AUC, recall by size), the proposal gallery, their notebooks,
and the runner's proposals dump (issue 14, parts 4-5)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import REPO

from owp.analysis import (
    auc_of_curve,
    gallery_table,
    novel_hits,
    plot_gallery,
    proposals_gallery,
    recall_by_size,
    recall_curve,
    recall_runs,
    recall_tables,
)
from owp.evaluation import evaluate_proposals
from owp.evaluation.functional import oln_auc

SHAPES = osp.join(REPO, 'configs', 'shapes')
KS = (1, 2, 5, 10, 20, 30)
ROWS = {'fcos': ['logits*centerness', 'centerness'], 'owp-iou-cs-is': ['iou']}


def _proposals(coco, rng, hit_rate, per_image=30):
    """Proposals near a share of the boxes (scored high) plus random ones (scored low)."""
    boxes = {}
    for a in coco['annotations']:
        boxes.setdefault(a['image_id'], []).append(a['bbox'])
    dets = []
    for im in coco['images']:
        w, h = im['width'], im['height']
        for x, y, bw, bh in boxes.get(im['id'], []):
            if rng.random() < hit_rate:
                j = rng.normal(0, 0.08, 4) * [bw, bh, bw, bh]
                dets.append(dict(image_id=im['id'], category_id=1, score=float(rng.uniform(.5, 1)),
                                 bbox=[x + j[0], y + j[1], max(bw + j[2], 1), max(bh + j[3], 1)]))
        for _ in range(per_image - len(boxes.get(im['id'], []))):
            x, y = rng.uniform(0, w - 8), rng.uniform(0, h - 8)
            dets.append(dict(image_id=im['id'], category_id=1, score=float(rng.uniform(0, .6)),
                             bbox=[x, y, rng.uniform(4, w - x), rng.uniform(4, h - y)]))
    return dets


def _write(path, data):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f)


@pytest.fixture(scope='session')
def tiny_study(tmp_path_factory, tiny_shapes):
    """A study work dir as the runner leaves it, with hand-made proposals (no training).

    Rows fcos (two score modes) and owp-iou-cs-is, seeds 0 and 1, each with its
    ``eval_<score>/proposals.json`` + ``proposals_info.json`` and a metrics.json holding
    what the evaluator gives on them; plus a row 'old' (seed 0) with metrics.json only.
    """
    root = tmp_path_factory.mktemp('recall_study')
    ann = osp.join(tiny_shapes, 'annotations', 'instances_val.json')
    with open(ann) as f:
        coco = json.load(f)
    work = str(root / 'work')
    rng = np.random.default_rng(0)
    for row, scores in ROWS.items():
        for seed in (0, 1):
            run = osp.join(work, row, f'seed{seed}')
            values = {}
            for i, score in enumerate(scores):
                tag = score.replace('*', 'x')
                dets = _proposals(coco, rng, hit_rate=0.4 + 0.2 * i + 0.3 * (row != 'fcos'))
                _write(osp.join(run, f'eval_{tag}', 'proposals.json'), dets)
                _write(osp.join(run, f'eval_{tag}', 'proposals_info.json'), dict(
                    score_mode=score, ann_file=ann, image_dir=osp.join(tiny_shapes, 'val'),
                    split='shapes', protocol='remove', subsets=['novel', 'base'],
                    max_dets=[1, 5, 10, 30], max_per_img=30))
                values[score] = evaluate_proposals(coco, dets, 'shapes', ('novel', 'base'),
                                                   'remove', [1, 5, 10, 30])
            _write(osp.join(run, 'metrics.json'), dict(row=row, seed=seed, scores=values,
                                                       protocol='remove', max_dets=[1, 5, 10, 30]))
    old = evaluate_proposals(coco, _proposals(coco, rng, 0.5), 'shapes', ('novel', ), 'remove',
                             [1, 5, 10, 30])
    _write(osp.join(work, 'old', 'seed0', 'metrics.json'),
           dict(row='old', seed=0, scores={'iou': old}, protocol='remove'))
    os.makedirs(osp.join(work, 'fcos', 'seed2'))  # a run that never finished
    study = str(root / 'study')
    os.makedirs(study)
    rows = [dict(name='fcos', config=osp.join(SHAPES, 'fcos_r18-tiny_fpn_1k_shapes.py'),
                 scores=ROWS['fcos'], paper={'novel/AR@10': 20.0}),
            dict(name='owp-iou-cs-is', scores=ROWS['owp-iou-cs-is'],
                 config=osp.join(SHAPES, 'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py')),
            dict(name='old', scores=['iou'],
                 config=osp.join(SHAPES, 'fcos-owp-iou_r18-tiny_fpn_1k_shapes.py'))]
    lines = ['title: tiny recall study', 'max_dets: [10, 30]', 'metrics: [novel/AR@10]',
             'rows:'] + [f'  - {json.dumps(r)}' for r in rows]
    with open(osp.join(study, 'manifest.yaml'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return dict(work=work, study=study, ann=ann, coco=coco, images=osp.join(tiny_shapes, 'val'))


def test_curve_points_are_eval_novel_at_those_k(tiny_study, tmp_path):
    """Every point is what `eval_novel --results --max-dets KS` prints (and, under 'remove',
    what each k alone gives); the runner's own AR@k are the same numbers."""
    from owp.tools.eval_novel import main as eval_novel
    records = recall_runs(tiny_study['work'], tiny_study['study'])
    assert [(r.row, r.seed, r.score) for r in records][:4] == [
        ('fcos', 0, 'logits*centerness'), ('fcos', 0, 'centerness'),
        ('fcos', 1, 'logits*centerness'), ('fcos', 1, 'centerness')]  # study order
    curves, _ = recall_tables(records, KS)
    r = records[3]
    mine = curves[(curves.label == r.label) & (curves.seed == 1)].set_index('k')['AR']
    out = tmp_path / 'm.json'
    assert eval_novel(['--ann', tiny_study['ann'], '--results', r.proposals, '--split', 'shapes',
                       '--max-dets', ','.join(map(str, KS)), '--out', str(out)]) == 0
    with open(out) as f:
        printed = json.load(f)
    assert list(mine.index) == list(KS)
    for k in KS:
        assert mine[k] == 100 * printed[f'AR@{k}']
        alone = evaluate_proposals(tiny_study['coco'], r.proposals, 'shapes', ('novel', ),
                                   'remove', [k])
        assert mine[k] == 100 * alone[f'novel/AR@{k}']
    for k in (1, 5, 10):
        assert mine[k] == pytest.approx(100 * r.metrics[f'novel/AR@{k}'], abs=1e-12)
    assert len(set(mine)) > 3 and mine.is_monotonic_increasing  # a real curve, not flat
    # k above the proposals kept per image (30) is not plotted: it was not measured
    more, _ = recall_tables(records[:1], (10, 30, 100))
    assert sorted(more['k']) == [10, 30]


def test_auc_of_a_hand_made_curve():
    curve = {1: 0.1, 10: 0.2, 30: 0.3, 50: 0.3, 100: 0.4, 300: 0.5, 500: 0.5, 1000: 0.6}
    x = np.log([1, 10, 30, 50, 100, 300, 500, 1000]) / np.log(1000)
    y = np.array([0.1, 0.2, 0.3, 0.3, 0.4, 0.5, 0.5, 0.6])
    by_hand = sum((x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2 for i in range(7))
    assert auc_of_curve(curve) == pytest.approx(by_hand, abs=1e-15)
    assert auc_of_curve(curve) == oln_auc(curve)
    assert auc_of_curve({**curve, 2: 0.15}) == auc_of_curve(curve)  # other k do not count
    assert auc_of_curve({k: v for k, v in curve.items() if k != 1000}) is None


def test_curve_auc_and_sizes_are_the_evaluators(tiny_study):
    r = recall_runs(tiny_study['work'], rows=['owp-iou-cs-is'])[0]
    coco = tiny_study['coco']
    ks = (1, 10, 30, 50, 100, 300, 500, 1000)
    curve = recall_curve(coco, r.proposals, 'shapes', ks)
    assert curve['AUC'] == auc_of_curve(curve)  # the legend's AUC is the curve's
    assert curve[1000] == curve[30]  # 30 proposals per image: AR@k = AR@30 beyond
    sizes = recall_by_size(coco, r.proposals, 'shapes', k=10)
    ref = evaluate_proposals(coco, r.proposals, 'shapes', ('novel', ), 'remove', [10])
    assert sizes == {s: ref[f'novel/AR{s}@10'] for s in 'sml'}
    assert sizes['l'] == -1 and sizes['s'] >= 0  # 6-30 px boxes: no large (nor medium) box
    _, table = recall_tables([r], size_k=10)
    assert table['size'].tolist() == ['s', 'm', 'l']
    assert table['AR'].isna().tolist() == [sizes[s] < 0 for s in 'sml']  # n/a, not 0
    assert table['AR'][0] == 100 * sizes['s']


def test_novel_hits_hand_made_case():
    gt = np.array([[0, 0, 10, 10], [20, 0, 10, 10], [50, 50, 10, 10]], float)
    props = np.array([[0, 0, 10, 10],     # A, IoU 1
                      [1, 0, 10, 10],     # IoU 0.82 with A, which is taken: finds nothing
                      [22, 0, 10, 10],    # B, IoU 80/120 = 0.67
                      [50, 50, 10, 10]])  # C, but 4th
    assert novel_hits(gt, props, k=1).tolist() == [True, False, False]
    assert novel_hits(gt, props, k=2).tolist() == [True, False, False]  # one box per proposal
    assert novel_hits(gt, props, k=3).tolist() == [True, True, False]
    assert novel_hits(gt, props, k=3, iou_thr=0.7).tolist() == [True, False, False]
    assert novel_hits(gt, props, k=4).tolist() == [True, True, True]
    assert novel_hits(gt, props[:0], k=4).tolist() == [False] * 3
    assert novel_hits(gt[:0], props, k=4).shape == (0, )


def test_gallery_colours_found_missed_and_base(tmp_path):
    """Hand-made image: one novel box found, one missed, one base box; what gets drawn."""
    import matplotlib.pyplot as plt
    from PIL import Image

    from owp.analysis.gallery import GALLERY_COLORS
    coco = dict(images=[dict(id=7, file_name='a.png', width=64, height=64)],
                categories=[dict(id=1, name='ellipse'), dict(id=5, name='star')],
                annotations=[dict(id=1, image_id=7, category_id=5, bbox=[0, 0, 10, 10], area=100),
                             dict(id=2, image_id=7, category_id=5, bbox=[40, 40, 10, 10], area=100),
                             dict(id=3, image_id=7, category_id=1, bbox=[20, 20, 8, 8], area=64)])
    dets = [dict(image_id=7, bbox=[0, 0, 10, 10], score=0.9),
            dict(image_id=7, bbox=[40, 40, 10, 10], score=0.1)]  # finds the 2nd, but k = 1
    _write(str(tmp_path / 'p.json'), dets)
    Image.new('RGB', (64, 64)).save(tmp_path / 'a.png')
    split = dict(base=['ellipse'], novel=['star'])
    table, images = gallery_table({'run': str(tmp_path / 'p.json')}, coco, split, k=1)
    assert table.to_dict('records') == [dict(image_id=7, file_name='a.png', novel=2, base=1,
                                             **{'missed run': 1})]
    assert images[7].found['run'].tolist() == [True, False]
    fig, files = plot_gallery([images[7]], ['run'], str(tmp_path), str(tmp_path / 'g'), 1, 0.5)
    from matplotlib.colors import to_rgba
    patches = fig.axes[0].patches
    plt.close(fig)
    found = [p for p in patches if p.get_linewidth() == 2.0]  # the novel boxes
    colours = {tuple(np.round(p.get_xy(), 3)): (to_rgba(p.get_edgecolor()), p.get_linestyle())
               for p in found}
    assert colours[(0, 0)] == (to_rgba(GALLERY_COLORS['found']), '-')
    assert colours[(40, 40)] == (to_rgba(GALLERY_COLORS['missed']), '--')
    drawn = [tuple(p.get_xy()) for p in patches
             if to_rgba(p.get_edgecolor())[:3] == to_rgba(GALLERY_COLORS['proposal'])[:3]]
    assert drawn == [(0, 0)]  # the top-1 proposal only
    base = [p for p in patches if to_rgba(p.get_edgecolor()) ==
            to_rgba(GALLERY_COLORS['base'])]
    assert [tuple(p.get_xy()) for p in base] == [(20, 20)]
    assert all(osp.getsize(f) > 1000 for f in files) and files[1].endswith('.pdf')


def test_gallery_orders_by_novel_objects_missed(tiny_study, tmp_path):
    res = proposals_gallery(tiny_study['work'], ['fcos', 'owp-iou-cs-is:iou'],
                            str(tmp_path / 'g'), seed=1, k=5, num_images=2)
    table = res['table']
    first = 'missed fcos: logits*centerness (seed 1)'
    assert list(table.columns[-2:]) == [first, 'missed owp-iou-cs-is: iou (seed 1)']
    assert table[first].is_monotonic_decreasing and table[first].iloc[0] > 0
    assert [im.image_id for im in res['images']] == table['image_id'][:2].tolist()
    # misses agree with the hits recomputed from the file at that k
    im = res['images'][0]
    assert int((~im.found['fcos: logits*centerness (seed 1)']).sum()) == table[first].iloc[0]
    assert osp.isfile(tmp_path / 'g.png') and osp.isfile(tmp_path / 'g.csv')


def test_bad_input_says_what_is_missing_and_how_to_make_it(tiny_study, tmp_path, capsys):
    empty = tmp_path / 'work'
    os.makedirs(empty / 'fcos' / 'seed0')
    with pytest.raises(ValueError, match=r'no finished run .*fcos/seed0.*metrics.json.*'
                                         r'owp.experiments run'):
        recall_runs(str(empty))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        recall_runs(str(tmp_path / 'nowhere'))
    old = recall_runs(tiny_study['work'], rows=['old'])
    with pytest.raises(ValueError, match=r"no proposals dump for score 'iou'.*dump_proposals: "
                                         r'true.*owp.experiments evaluate.*--dump-proposals'):
        recall_tables(old, require_dumps=True)
    with pytest.raises(ValueError, match='no proposals dump'):
        proposals_gallery(tiny_study['work'], ['old'], str(tmp_path / 'g'))
    with pytest.raises(FileNotFoundError, match=r'study folder.*results.*--work-dir'):
        recall_runs(tiny_study['study'])  # no results/ beside the manifest, no work_dirs/
    bad = tmp_path / 'bad' / 'a' / 'seed0'
    os.makedirs(bad)
    (bad / 'metrics.json').write_text('{"scores": ')
    with pytest.raises(ValueError, match=r'bad/a/seed0/metrics.json: not a run'):
        recall_runs(str(tmp_path / 'bad'))
    # without a dump, the curve falls back to metrics.json's AR@k, marked as such
    curves, _ = recall_tables(old)
    assert set(curves['source']) == {'metrics.json'} and sorted(curves['k']) == [1, 5, 10, 30]
    # a missing image names it and the option that fixes it
    with pytest.raises(FileNotFoundError, match=r"000000.jpg.*image id 1.*--image-dir"):
        proposals_gallery(tiny_study['work'], ['fcos'], str(tmp_path / 'g'),
                          image_dir=str(tmp_path), image_ids=[1])
    # an eval_novel dump (no proposals_info.json) needs --ann/--split
    from owp.analysis.recall_curves import RunRecord
    bare = RunRecord('x', 0, 'iou', str(tmp_path), 'remove', {}, proposals=old[0].run_dir)
    with pytest.raises(ValueError, match='--ann ANN.json --split SPLIT'):
        recall_tables([bare])
    # the scripts print the message and exit 2
    import runpy
    for script, args in (('recall_curves.py', ['--out-dir', str(tmp_path / 'o')]),
                         ('proposals_gallery.py', ['--runs', 'fcos', '--out', str(tmp_path / 'o')])):
        main = runpy.run_path(osp.join(REPO, 'scripts', script))['main']
        assert main([str(empty), *args]) == 2
        assert f'{script[:-3]}: error: no finished run' in capsys.readouterr().err


def test_recall_curves_script(tiny_study, tmp_path):
    import runpy
    import sys
    argv = sys.argv
    sys.argv = ['recall_curves.py', tiny_study['work'], '--study', tiny_study['study'],
                '--out-dir', str(tmp_path), '--k', '1,5,10,30', '--size-k', '10']
    try:
        with pytest.raises(SystemExit) as e:
            runpy.run_path(osp.join(REPO, 'scripts', 'recall_curves.py'), run_name='__main__')
    finally:
        sys.argv = argv
    assert e.value.code == 0
    for name in ('recall_curves.png', 'recall_curves.pdf', 'recall_by_size.png',
                 'recall_curves.csv', 'recall_by_size.csv'):
        assert osp.getsize(tmp_path / name) > 0
    import pandas as pd
    curves = pd.read_csv(tmp_path / 'recall_curves.csv')
    assert set(curves['row']) == {'fcos', 'owp-iou-cs-is', 'old'}
    assert set(curves[curves.row == 'fcos']['seed']) == {0, 1}  # seed2 is unfinished


@pytest.mark.parametrize('notebook', ['recall_curves.ipynb', 'proposals_gallery.ipynb'])
def test_notebook_runs(notebook, tiny_study, tmp_path):
    nbformat = pytest.importorskip('nbformat')
    from nbclient import NotebookClient
    nb = nbformat.read(osp.join(REPO, 'analysis', notebook), as_version=4)
    env = dict(OWP_WORK_DIR=tiny_study['work'], OWP_STUDY=tiny_study['study'],
               OWP_OUT_DIR=str(tmp_path / 'fig'), OWP_GALLERY_RUNS='fcos,owp-iou-cs-is',
               OWP_SIZE_K='10')
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, kernel_name='python3',
                       resources={'metadata': {'path': str(tmp_path)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    figures = sorted(os.listdir(tmp_path / 'fig'))
    if notebook == 'recall_curves.ipynb':
        assert {'recall_curves.png', 'recall_curves.pdf', 'recall_by_size.png'} <= set(figures)
        text = ''.join(o.get('text', '') for c in nb.cells for o in c.get('outputs', []))
        assert 'points equal metrics.json' in text and not text.startswith('0 points')
    else:
        assert {'gallery_missed.png', 'gallery_missed.pdf',
                'gallery_missed_by_second.png'} <= set(figures)


def test_manifest_dump_proposals_default_and_validation(tmp_path):
    from owp.experiments import ManifestError, load_study
    row = json.dumps(dict(name='a', config=osp.join(SHAPES, 'fcos_r18-tiny_fpn_1k_shapes.py'),
                          scores=['iou']))

    def study(*top):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        (folder / 'manifest.yaml').write_text('\n'.join([*top, 'rows:', f'  - {row}']) + '\n')
        return load_study(str(folder))

    assert study().dump_proposals is False  # real-data sized: off unless asked for
    assert study('data_root: d/', 'shapes: {num_val: 5}').dump_proposals is True
    assert study('data_root: d/', 'shapes: {}', 'dump_proposals: false').dump_proposals is False
    assert study('dump_proposals: true').dump_proposals is True
    with pytest.raises(ManifestError, match=r'manifest.yaml:2: dump_proposals must be true or '
                                            r"false, got 'yes please'"):
        study('title: t', 'dump_proposals: yes please')


def test_runner_keeps_the_proposals_it_evaluated(tiny_shapes, tmp_path):
    """evaluate_run writes each score mode's proposals and what they were evaluated against;
    the dump evaluated again gives the run's metrics (a random-init model: no training)."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import owp.registration  # noqa: F401
    from owp.experiments import load_study, plan_runs
    from owp.experiments.runner import evaluate_run
    config = osp.join(SHAPES, 'fcos-owp-ctr-iou_r18-tiny_fpn_1k_shapes.py')
    opts = {'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
            'test_dataloader.batch_size': 3, 'val_cfg': None, 'val_dataloader': None,
            'val_evaluator': None}
    folder = tmp_path / 'study'
    folder.mkdir()
    (folder / 'manifest.yaml').write_text('\n'.join([
        'max_dets: [5, 20]', 'curve_k: [1, 5]', 'metrics: [novel/AR@20]',
        f'data_root: {tiny_shapes}', 'shapes: {}', f'cfg_options: {json.dumps(opts)}', 'rows:',
        f'  - {json.dumps(dict(name="a", config=config, scores=["sqrt(centerness*iou)"]))}'])
        + '\n')
    study = load_study(str(folder))
    assert study.dump_proposals
    spec = plan_runs(study, str(tmp_path / 'work'), seeds=[0],  # 64 px images: faster
                     cfg_options={'test_dataloader.dataset.pipeline.1.scale': (64, 64)})[0]
    os.makedirs(spec.run_dir)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}},
               spec.final_checkpoint)
    scores = evaluate_run(study, spec)
    with open(osp.join(tiny_shapes, 'annotations', 'instances_val.json')) as f:
        coco = json.load(f)
    for score, tag in (('sqrt(centerness*iou)', 'sqrtcenternessxiou'), ):
        eval_dir = osp.join(spec.run_dir, f'eval_{tag}')
        with open(osp.join(eval_dir, 'proposals_info.json')) as f:
            info = json.load(f)
        assert info['score_mode'] == score and info['max_per_img'] == 20
        assert info['ann_file'] == osp.abspath(osp.join(tiny_shapes, 'annotations',
                                                        'instances_val.json'))
        assert osp.isfile(osp.join(info['image_dir'], coco['images'][0]['file_name']))
        with open(osp.join(eval_dir, 'proposals.json')) as f:
            dets = json.load(f)
        per_image = np.bincount([d['image_id'] for d in dets])
        assert per_image.max() == 20 and {'iou', 'centerness'} <= set(dets[0])
        again = evaluate_proposals(coco, osp.join(eval_dir, 'proposals.json'), 'shapes',
                                   ('novel', 'base'), 'remove', study.eval_k)
        for key, v in again.items():
            assert scores[score][key] == pytest.approx(v, abs=1e-12), (score, key)


def test_curve_figure_bands_seeds_names_auc_and_shows_published_points(tiny_study, tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    from owp.analysis import plot_recall_curves, recall_curves
    records = recall_runs(tiny_study['work'], tiny_study['study'])
    curves, _ = recall_tables(records, (1, 10, 30))
    fig, files = plot_recall_curves(curves, str(tmp_path / 'c'), paper={'fcos': {10: 20.0}},
                                    rows_order=['fcos', 'owp-iou-cs-is', 'old'])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    stars = [ln for ln in ax.lines if ln.get_marker() == '*']
    plt.close(fig)
    assert labels[:2] == ['fcos: logits*centerness (AUC n/a; 2 seeds)',  # k only up to 30
                          'fcos: centerness (AUC n/a; 2 seeds)']
    assert 'old: iou (AUC n/a; 1 seed, metrics.json)' in labels
    assert len(bands) == 3  # the rows with two seeds; none for 'old'
    fcos = curves[(curves.label == 'fcos: centerness') & (curves.k == 10)]['AR']
    top = bands[1].get_paths()[0].vertices[:, 1]
    assert fcos.max() in top and fcos.min() in top  # min-max over the seeds
    assert [(list(s.get_xdata()), list(s.get_ydata())) for s in stars] == [([10], [20.0])]
    assert labels[-1] == 'fcos: published'
    # the one-stop function: the study's paper values, the fallback said in the note
    res = recall_curves(tiny_study['work'], str(tmp_path / 'all'), study=tiny_study['study'],
                        ks=(1, 10, 30), size_k=10)
    assert 'no proposals dump for old: iou' in res['note'] and 'metrics.json' in res['note']


def test_a_study_folder_reads_its_committed_results():
    """experiments/quickstart/results: the quickstart's metrics files (no dumps committed)."""
    records = recall_runs(osp.join(REPO, 'experiments', 'quickstart'))
    assert [r.row for r in records] == ['fcos', 'fcos', 'owp-ctr', 'owp-iou', 'owp-iou-cs-is']
    curves, sizes = recall_tables(records)
    assert set(curves['source']) == {'metrics.json'} and set(curves['k']) == {1, 5, 10, 20, 50,
                                                                               100}
    r = records[-1]
    got = curves[(curves.label == r.label) & (curves.k == 100)]['AR'].item()
    assert got == 100 * r.metrics['novel/AR@100']
    assert set(sizes['size']) == {'s', 'm', 'l'} and sizes['AR'].isna().sum() == 5  # no large
