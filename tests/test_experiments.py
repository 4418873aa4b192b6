"""Studies (experiments/) and the runner (python -m owp.experiments)."""
import glob
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import REPO

EXPERIMENTS = osp.join(REPO, 'experiments')
STUDIES = sorted(osp.basename(osp.dirname(p))
                 for p in glob.glob(osp.join(EXPERIMENTS, '*', 'manifest.yaml')))
SHAPES = osp.join(REPO, 'configs', 'shapes')


def _runner(*args, **kw):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
               PYTHONWARNINGS='ignore')
    return [sys.executable, '-m', 'owp.experiments', *args], dict(env=env, cwd=REPO, **kw)


def _write_study(folder, rows, **top):
    """A study folder with a manifest (YAML is JSON's superset) and a README."""
    os.makedirs(folder, exist_ok=True)
    manifest = dict(dict(seeds=[0], max_dets=[10, 100], metrics=['novel/AR@100']), **top)
    lines = [f'{k}: {json.dumps(v)}' for k, v in manifest.items()] + ['rows:']
    for r in rows:
        lines.append(f'  - {json.dumps(r)}')
    with open(osp.join(folder, 'manifest.yaml'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return osp.join(folder, 'manifest.yaml')


def test_every_paper_study_is_there():
    for name in ('table1_coco', 'table2_lvis', 'table3_coco', 'table4_lvis', 'figure6_coco',
                 'appendixB_coco', 'table1_shapes', 'table3_shapes', 'quickstart'):
        assert name in STUDIES


@pytest.mark.parametrize('study', STUDIES)
def test_dry_run_resolves_every_config_and_dependency(study, tmp_path, capsys):
    """Every config loads with its overrides; every load_from is the same seed's checkpoint."""
    from owp.experiments import load_study, plan_runs, run_study
    s = load_study(study)
    assert all(r.paper for r in s.rows) or study.endswith('shapes') or study in (
        'quickstart', 'figure6_coco'), 'the paper studies carry the paper\'s numbers'
    specs = plan_runs(s, str(tmp_path), seeds=[0, 1])
    assert len(specs) == 2 * len(s.rows)
    for spec in specs:
        if spec.load_from_row:
            assert spec.load_from == osp.join(str(tmp_path), spec.load_from_row,
                                              f'seed{spec.seed}', osp.basename(spec.load_from))
            assert spec.depends_on.seed == spec.seed
    assert run_study(s, str(tmp_path), seeds=[0, 1], dry_run=True) == 1
    out = capsys.readouterr().out
    assert out.count(' train mmdet ') == len(specs)
    assert not os.listdir(tmp_path)  # a dry run writes nothing


def test_paper_numbers_of_table1_are_the_papers():
    from owp.experiments import load_study
    s = load_study('table1_coco')
    assert s.row('iou-cs-is').paper == {'base/AR@10': 32.86, 'base/AR@100': 53.59,
                                        'novel/AR@10': 13.08, 'novel/AR@100': 30.19}
    assert s.row('joint-unknown').paper['base/AP'] == 46.21
    assert s.row('finetune').load_from == 'iou-cs-is'


def test_mean_std_by_hand():
    from owp.experiments import mean_std
    mean, std, n = mean_std([30.0, 32.0, 34.0])
    assert (mean, n) == (32.0, 3) and std == pytest.approx(2.0)  # sample std, ddof=1
    assert mean_std([41.0]) == (41.0, None, 1)
    assert mean_std([None, -100.0, float('nan')]) == (None, None, 0)
    mean, std, n = mean_std([0.5, None, 1.5])  # undefined values are left out
    assert (mean, n) == (1.0, 2) and std == pytest.approx(0.7071067811865476)


def test_aggregate_and_table_by_hand(tmp_path):
    from owp.experiments import aggregate, load_study, markdown_table
    path = _write_study(
        str(tmp_path / 's'), [dict(name='a', config=osp.join(SHAPES, 'fcos_r18-tiny_fpn_1k_shapes.py'),
                                   scores=['logits*centerness', 'centerness'],
                                   paper={'novel/AR@100': 40.0})],
        metrics=['novel/AR@10', 'novel/AR@100'])
    s = load_study(path)
    runs = [dict(row='a', seed=seed, scores={
        'logits*centerness': {'novel/AR@10': a10, 'novel/AR@100': a100},
        'centerness': {'novel/AR@10': 0.1, 'novel/AR@100': -1.0}})
        for seed, a10, a100 in ((0, 0.20, 0.40), (1, 0.22, 0.44), (2, 0.24, 0.45))]
    rec = aggregate(s, runs)
    m = rec[0]['metrics']['novel/AR@100']
    assert m['n'] == 3 and m['mean'] == pytest.approx(43.0) and m['paper'] == 40.0
    assert m['std'] == pytest.approx(((3 ** 2 + 1 + 2 ** 2) / 2) ** 0.5)
    assert rec[1]['metrics']['novel/AR@100']['n'] == 0  # -1: no box, not 0 %
    assert rec[1]['metrics']['novel/AR@100']['paper'] is None  # paper: first score only
    md = markdown_table(s, rec).splitlines()
    assert md[0] == ('| row | score | n | novel/AR@10 | novel/AR@100 | novel/AR@100 (paper) |')
    assert md[2] == '| a | logits*centerness | 3 | 22.00 ± 2.00 | 43.00 ± 2.65 | 40.00 |'
    assert md[3] == '| a | centerness | 0/3 | 10.00 ± 0.00 | - |  |'


def _good_row(**kw):
    return dict(dict(name='a', config=osp.join(SHAPES, 'fcos_r18-tiny_fpn_1k_shapes.py'),
                     scores=['iou']), **kw)


@pytest.mark.parametrize('rows, top, words, line', [
    ([_good_row(config='no/such.py')], {}, "row 'a': config 'no/such.py' does not exist", 5),
    ([_good_row()], dict(metrics=['novel/AR@1000']), "unknown metric key 'novel/AR@1000'", 3),
    ([_good_row(), _good_row(name='b', load_from='zzz')], {},
     "row 'b': load_from 'zzz' is not a row of this study", 6),
    ([_good_row(load_from='b'), _good_row(name='b', load_from='a')], {},
     "load_from forms a cycle: a -> b -> a", 5),
    ([_good_row(scores=['logits'])], {}, "unknown score mode 'logits'", 5),
    ([_good_row(), _good_row()], {}, "row 'a': duplicate row name", 6),
    ([_good_row(paper={'novel/AR@10': 1.0})], {}, "paper value for 'novel/AR@10'", 5),
    ([_good_row(lr=1)], {}, "unknown field 'lr'", 5),
])
def test_bad_manifest_fails_naming_the_line(tmp_path, rows, top, words, line):
    from owp.experiments import ManifestError, load_study
    path = _write_study(str(tmp_path / 's'), rows, **top)
    with pytest.raises(ManifestError) as e:
        load_study(path)
    assert f'{path}:{line}: ' in str(e.value) and words in str(e.value)


def test_unknown_row_in_rows_fails_before_any_work(tmp_path):
    cmd, kw = _runner('run', 'quickstart', '--rows', 'fcos,nope', '--work-dir', str(tmp_path / 'w'))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert proc.returncode == 2, proc.stderr
    assert "--rows: unknown row 'nope'" in proc.stderr and 'quickstart/manifest.yaml' in proc.stderr
    assert not (tmp_path / 'w').exists()


def test_study_readmes_hold_the_generated_table_markers():
    from owp.experiments.aggregate import README_BEGIN, README_END
    for study in STUDIES:
        with open(osp.join(EXPERIMENTS, study, 'README.md')) as f:
            text = f.read()
        assert README_BEGIN in text and README_END in text, study
        assert 'python -m owp.experiments run' in text, study


def _tiny_options():
    opts = {'train_cfg.max_iters': 4, 'default_hooks.checkpoint.interval': 2,
            'default_hooks.logger.interval': 1, 'param_scheduler.1.milestones': [3],
            # no validation inside training (mmengine validates at the last iteration
            # whatever val_interval is): the runner evaluates the final checkpoint
            'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None}
    for key in ('train_dataloader', 'test_dataloader'):
        opts.update({f'{key}.num_workers': 0, f'{key}.persistent_workers': False,
                     f'{key}.batch_size': 2})
    return opts


# 64 px (the tiny dataset's size) instead of the configs' 160 px: a tuple, which YAML
# cannot hold, so through --cfg-options as a user would pass it.
SCALE_64 = {'train_dataloader.dataset.pipeline.2.scale': (64, 64),
            'test_dataloader.dataset.pipeline.1.scale': (64, 64)}
SCALE_64_WORDS = ['train_dataloader.dataset.pipeline.2.scale=(64,64)',
                  'test_dataloader.dataset.pipeline.1.scale=(64,64)']


def test_tiny_study_survives_a_kill_and_never_retrains(tmp_path, tiny_shapes, capsys):
    """2 rows x 2 seeds; SIGKILL during the second run; the rerun resumes it and keeps the first."""
    study = str(tmp_path / 'tiny')
    _write_study(study, [
        dict(name='owp', config=osp.join(SHAPES, 'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py'),
             scores=['iou'], paper={'novel/AR@100': 30.19}),
        # 40 iterations (a few seconds): time to kill it between two checkpoints
        dict(name='ft', config=osp.join(SHAPES, 'fcos-owp-iou-cs-is-finetune_r18-tiny_fpn_1k_shapes.py'),
             scores=['logits*iou'], load_from='owp',
             overrides={'train_cfg.max_iters': 40, 'param_scheduler.1.milestones': [30]}),
    ], seeds=[0, 1], curve_k=[1, 10, 100], data_root=tiny_shapes, cfg_options=_tiny_options(),
        metrics=['novel/AR@10', 'novel/AR@100', 'base/AR@100'])
    with open(osp.join(study, 'README.md'), 'w') as f:
        from owp.experiments.aggregate import README_BEGIN, README_END
        f.write(f'# tiny\n\n{README_BEGIN}\n{README_END}\n')
    work = str(tmp_path / 'work')
    cmd, kw = _runner('run', study, '--work-dir', work, '--cfg-options', *SCALE_64_WORDS)
    with open(tmp_path / 'first.log', 'w') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **kw)
        pointer = osp.join(work, 'ft', 'seed0', 'last_checkpoint')
        deadline = time.time() + 400
        while not osp.exists(pointer) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and its training, mid-run
        proc.wait()
    assert osp.exists(pointer), open(tmp_path / 'first.log').read()[-3000:]
    assert not osp.exists(osp.join(work, 'ft', 'seed0', 'iter_40.pth'))
    resumes = osp.basename(open(pointer).read().strip())  # e.g. iter_2.pth
    first = osp.join(work, 'owp', 'seed0')
    kept = {p: os.stat(osp.join(first, p)).st_mtime_ns for p in ('metrics.json', 'iter_4.pth')}

    from owp.experiments import load_study, run_study, study_status, tabulate
    s = load_study(study)
    status = {key: (state, detail) for key, state, detail in study_status(s, work)}
    assert status['owp/seed0'][0] == 'done'
    assert status['ft/seed0'] == ('interrupted', f'runner gone; resumes from {resumes}')
    assert status['owp/seed1'][0] == 'waiting'
    assert status['ft/seed1'] == ('waiting', 'for owp/seed1 (waiting)')

    assert run_study(s, work, cfg_options=SCALE_64) == 0  # the same command, in this process
    out = capsys.readouterr().out
    assert 'owp/seed0: done, kept' in out
    assert f'ft/seed0: resuming from {resumes}' in out
    assert {p: os.stat(osp.join(first, p)).st_mtime_ns for p in kept} == kept  # not retrained

    for row, seed in (('owp', 0), ('owp', 1), ('ft', 0), ('ft', 1)):
        with open(osp.join(work, row, f'seed{seed}', 'metrics.json')) as f:
            m = json.load(f)
        score = 'iou' if row == 'owp' else 'logits*iou'
        assert set(m['scores']) == {score}
        assert {'novel/AR@1', 'novel/AR@10', 'novel/AR@100'} <= set(m['scores'][score])
        prov = m['provenance']
        assert prov['seed'] == seed and prov['cfg_options']['randomness.seed'] == seed
        assert prov['versions']['torch'] and prov['git_commit'] and prov['machine']['cpu']
        assert 'iou_sampling_thr' in prov['config_text'] or '_base_' in prov['config_text']
        if row == 'ft':  # the runner wired the same seed's OWP checkpoint
            assert prov['load_from'] == osp.join(work, 'owp', f'seed{seed}', 'iter_4.pth')
            first_cmd = m['train_attempts'][0]['command']
            assert f"load_from={prov['load_from']}" in first_cmd
            if seed == 1:  # (seed 0's last attempt resumed: mmdet sets load_from to its ckpt)
                assert f"load_from = '{prov['load_from']}'" in prov['merged_config']
    with open(osp.join(work, 'ft', 'seed0', 'metrics.json')) as f:
        attempts = json.load(f)['train_attempts']
    assert len(attempts) == 2 and attempts[1]['resumed_from'].endswith(resumes)
    with open(osp.join(work, 'owp', 'seed0', 'metrics.json')) as f:
        m = json.load(f)
    assert len(m['train_attempts']) == 1 and m['train_seconds'] > 0

    tabulate(s, work, readme=osp.join(study, 'README.md'))
    with open(osp.join(work, 'table.md')) as f:
        md = f.read().strip()
    with open(osp.join(study, 'README.md')) as f:
        assert f'{README_BEGIN}\n{md}\n{README_END}' in f.read()
    with open(osp.join(work, 'results.json')) as f:
        res = json.load(f)
    rec = {(r['row'], r['score']): r for r in res['records']}
    owp = rec[('owp', 'iou')]['metrics']['novel/AR@100']
    per_seed = []
    for seed in (0, 1):
        with open(osp.join(work, 'owp', f'seed{seed}', 'metrics.json')) as f:
            per_seed.append(100 * json.load(f)['scores']['iou']['novel/AR@100'])
    assert owp['n'] == 2 and owp['paper'] == 30.19
    assert owp['mean'] == pytest.approx(sum(per_seed) / 2)
    assert osp.isfile(osp.join(work, 'ar_vs_k.png')) and osp.isfile(osp.join(work, 'table.csv'))


def test_failed_run_is_reported_and_does_not_stop_the_others(tmp_path, tiny_shapes, capsys):
    from owp.experiments import load_study, run_study, study_status
    study = str(tmp_path / 'bad')
    _write_study(study, [
        dict(name='broken', config=osp.join(SHAPES, 'fcos_r18-tiny_fpn_1k_shapes.py'),
             scores=['centerness'], overrides={'model.bbox_head.cls_mode': 'nonsense'}),
        dict(name='after', config=osp.join(SHAPES, 'fcos_r18-tiny_fpn_1k_shapes.py'),
             scores=['centerness'], load_from='broken'),
        dict(name='fine', config=osp.join(SHAPES, 'fcos-owp-ctr_r18-tiny_fpn_1k_shapes.py'),
             scores=['centerness']),
    ], data_root=tiny_shapes, cfg_options=dict(_tiny_options(), **{'train_cfg.max_iters': 2}))
    work = str(tmp_path / 'work')
    s = load_study(study)
    assert run_study(s, work, cfg_options=SCALE_64) == 1
    out = capsys.readouterr().out
    assert 'broken/seed0: FAILED: ' in out and 'cls_mode' in out
    assert osp.isfile(osp.join(work, 'fine', 'seed0', 'metrics.json'))
    status = {key: (state, detail) for key, state, detail in study_status(s, work)}
    assert status['broken/seed0'][0] == 'failed' and 'cls_mode' in status['broken/seed0'][1]
    assert status['after/seed0'] == ('waiting', 'for broken/seed0 (failed)')
    assert status['fine/seed0'][0] == 'done'


def test_oln_rows_train_and_evaluate_with_their_own_test_cfg(tmp_path, tiny_shapes, capsys):
    """OLN's final boxes come from test_cfg.rpn (OLN-RPN) / test_cfg.rcnn (OLN-Box): the runner
    must set max_per_img and the proposal dump there, not on the top-level test_cfg."""
    from owp.experiments import load_study, run_study
    from owp.experiments.runner import PROPOSALS_FILE, PROPOSALS_INFO_FILE
    study = str(tmp_path / 'oln')
    _write_study(study, [
        dict(name='rpn', config=osp.join(SHAPES, 'oln-rpn_r18-tiny_fpn_1k_shapes.py'),
             scores=['centerness']),
        dict(name='box', config=osp.join(SHAPES, 'oln-box_r18-tiny_fpn_1k_shapes.py'),
             scores=['sqrt(centerness*iou)']),
    ], max_dets=[10, 50], metrics=['novel/AR@50'], data_root=tiny_shapes, dump_proposals=True,
        cfg_options=dict(_tiny_options(), **{'train_cfg.max_iters': 2}))
    work = str(tmp_path / 'work')
    assert run_study(load_study(study), work, cfg_options=SCALE_64) == 0, capsys.readouterr().out
    for row, tag, block in (('rpn', 'centerness', 'rpn'), ('box', 'sqrt_centerness_iou', 'rcnn')):
        with open(osp.join(work, row, 'seed0', 'metrics.json')) as f:
            scores = json.load(f)['scores']
        assert {'novel/AR@10', 'novel/AR@50'} <= set(next(iter(scores.values())))
        eval_dir = glob.glob(osp.join(work, row, 'seed0', 'eval_*'))
        assert len(eval_dir) == 1, eval_dir
        with open(osp.join(eval_dir[0], PROPOSALS_INFO_FILE)) as f:
            info = json.load(f)
        assert info['max_per_img'] == 50, (row, block, info)  # the study's largest k
        if row == 'box':  # OLN-Box's dumped boxes carry their RoI's score components
            with open(osp.join(eval_dir[0], PROPOSALS_FILE)) as f:
                p = json.load(f)[0]
            assert p['score'] == pytest.approx((p['centerness'] * p['iou']) ** 0.5, rel=1e-5)


def test_reuse_from_takes_an_identical_training_and_evaluates_it_here(tmp_path, tiny_shapes,
                                                                     capsys):
    """Study B names study A in ``reuse_from``: B's rows with A's training (config, options,
    seed, and for a finetune the same start checkpoint) link A's checkpoints instead of
    training; a row with other training trains; an edited config is not the same training."""
    from owp.experiments import load_study, run_study, study_status
    from owp.experiments.runner import find_reusable, plan_runs, reuse_sources
    owp_cfg = osp.join(SHAPES, 'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py')
    ft_cfg = osp.join(SHAPES, 'fcos-owp-iou-cs-is-finetune_r18-tiny_fpn_1k_shapes.py')
    opts = _tiny_options()
    common = dict(data_root=tiny_shapes, cfg_options=opts)
    _write_study(str(tmp_path / 'studies' / 'A'), [
        dict(name='owp', config=owp_cfg, scores=['iou']),
        dict(name='ft', config=ft_cfg, scores=['logits*iou'], load_from='owp'),
    ], **common)
    # B: its own row names, evaluation settings and an evaluation-only option of its own
    _write_study(str(tmp_path / 'studies' / 'B'), [
        dict(name='start', config=owp_cfg, scores=['iou']),
        dict(name='tuned', config=ft_cfg, scores=['logits*iou'], load_from='start'),
        dict(name='other', config=owp_cfg, scores=['iou'],
             overrides={'model.bbox_head.iou_sampling_thr': 0.3}),
    ], reuse_from=['A'], data_root=tiny_shapes, max_dets=[5, 100],
        metrics=['novel/AR@5', 'novel/AR@100'],
        cfg_options=dict(opts, **{'test_dataloader.batch_size': 1}))
    work = tmp_path / 'work'
    a, b = load_study(str(tmp_path / 'studies' / 'A')), load_study(str(tmp_path / 'studies' / 'B'))
    assert b.reuse_from == ('A', )
    assert run_study(a, str(work / 'A'), cfg_options=SCALE_64) == 0
    capsys.readouterr()
    # B's first run was interrupted after 2 iterations: reuse clears it (no spliced curves)
    part = work / 'B' / 'start' / 'seed0'
    os.makedirs(part / '20000101_000000' / 'vis_data')
    (part / '20000101_000000' / 'vis_data' / 'scalars.json').write_text('{}\n')
    (part / 'iter_2.pth').write_bytes(b'partial')
    (part / 'last_checkpoint').write_text(str(part / 'iter_2.pth'))
    (part / 'state.json').write_text(json.dumps(dict(state='running', pid=2 ** 22 + 1,  # > pid_max
                                                     host=socket.gethostname(),
                                                     train_attempts=[dict(seconds=1.0)])))
    status = {k: (st, d) for k, st, d in study_status(b, str(work / 'B'), cfg_options=SCALE_64)}
    assert status['start/seed0'] == ('interrupted', f"reuses {work / 'A' / 'owp' / 'seed0'}")
    assert status['tuned/seed0'] == ('waiting', 'for start/seed0 (interrupted)')
    assert status['other/seed0'] == ('waiting', '')
    assert run_study(b, str(work / 'B'), cfg_options=SCALE_64) == 0
    out = capsys.readouterr().out
    for row, src in (('start', 'owp'), ('tuned', 'ft')):
        run, source = work / 'B' / row / 'seed0', work / 'A' / src / 'seed0'
        assert f'{row}/seed0: reuses the training of {source}' in out
        assert os.stat(run / 'iter_4.pth').st_ino == os.stat(source / 'iter_4.pth').st_ino
        with open(run / 'metrics.json') as f:
            mine = json.load(f)
        with open(source / 'metrics.json') as f:
            theirs = json.load(f)
        assert mine['reused_from'] == str(source)
        assert mine['trained_at_commit'] == theirs['provenance']['git_commit']
        assert mine['train_attempts'] == theirs['train_attempts']
        assert 'reused' in (run / 'train.log').read_text()
        assert glob.glob(str(run / '2*' / 'vis_data' / 'scalars.json'))  # loss curves
        # evaluated here, under B's k: the same model gives A's number at the k both have
        score = next(iter(mine['scores']))
        assert 'novel/AR@5' in mine['scores'][score]
        assert mine['scores'][score]['novel/AR@100'] == theirs['scores'][score]['novel/AR@100']
    assert 'other/seed0: training' in out
    assert not (part / 'iter_2.pth').exists() and not (part / 'last_checkpoint').exists()
    assert not (part / '20000101_000000').exists()
    with open(part / 'state.json') as f:
        assert json.load(f)['abandoned_attempts'] == [dict(seconds=1.0)]
    with open(work / 'B' / 'other' / 'seed0' / 'metrics.json') as f:
        assert 'reused_from' not in json.load(f)
    sources = reuse_sources(b, str(work / 'B'))
    assert sources == [str(work / 'A')]

    # the same training through a thin config elsewhere is found; an edited one is not
    for name, body, found in (('same.py', '', True),
                              ('edited.py', 'model = dict(bbox_head=dict(iou_sampling_thr=0.4))\n',
                               False)):
        cfg = tmp_path / name
        cfg.write_text(f'_base_ = [{owp_cfg!r}]\n{body}')
        _write_study(str(tmp_path / 'studies' / 'C'), [
            dict(name='owp', config=str(cfg), scores=['iou'])], reuse_from=['A'], **common)
        c = load_study(str(tmp_path / 'studies' / 'C'))
        spec = plan_runs(c, str(work / 'C'), cfg_options=SCALE_64)[0]
        got = find_reusable(spec, reuse_sources(c, str(work / 'C')))
        assert got == (str(work / 'A' / 'owp' / 'seed0') if found else None), name
    spec = plan_runs(c, str(work / 'C'), seeds=[1], cfg_options=SCALE_64)[0]
    assert find_reusable(spec, [str(work / 'A')]) is None  # another seed
    # the same config and options on 8 GPUs (another batch size) is another training
    from owp.experiments.runner import Launch
    spec = plan_runs(a, str(work / 'C'), cfg_options=SCALE_64)[0]
    assert find_reusable(spec, [str(work / 'A')]) == str(work / 'A' / 'owp' / 'seed0')
    assert find_reusable(spec, [str(work / 'A')], Launch('pytorch', gpus=8)) is None
    # a load_from of the row's own (not the runner's): what it held then is not known
    spec.options['load_from'] = str(work / 'A' / 'owp' / 'seed0' / 'iter_4.pth')
    assert find_reusable(spec, [str(work / 'A')]) is None


def test_reuse_from_needs_a_study_on_the_same_data(tmp_path, tiny_shapes, capsys):
    from owp.experiments import ManifestError, load_study
    from owp.experiments.runner import reuse_sources
    cfg = osp.join(SHAPES, 'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py')
    _write_study(str(tmp_path / 'A'), [dict(name='owp', config=cfg, scores=['iou'])],
                 data_root='data/elsewhere/')
    _write_study(str(tmp_path / 'B'), [dict(name='owp', config=cfg, scores=['iou'])],
                 reuse_from=['A'], data_root=tiny_shapes)
    assert reuse_sources(load_study(str(tmp_path / 'B')), str(tmp_path / 'work' / 'B')) == []
    assert "reuse_from A: not reused, it trains on other data" in capsys.readouterr().out
    _write_study(str(tmp_path / 'C'), [dict(name='owp', config=cfg, scores=['iou'])],
                 reuse_from=['nope'])
    with pytest.raises(ManifestError, match=r"C/manifest.yaml: reuse_from: no study 'nope'"):
        reuse_sources(load_study(str(tmp_path / 'C')), str(tmp_path / 'work' / 'C'))
    for bad in ('A', ['A', 3], ['C']):
        _write_study(str(tmp_path / 'C'), [dict(name='owp', config=cfg, scores=['iou'])],
                     reuse_from=bad)
        with pytest.raises(ManifestError, match=r'C/manifest.yaml:\d+: reuse_from'):
            load_study(str(tmp_path / 'C'))


def test_a_run_locked_by_another_runner_is_skipped_then_taken(tmp_path, tiny_shapes, capsys):
    """Two runners sharing a study (one per slot) must never train the same run at once: the
    run's lock, not only state.json, decides; a released lock (a runner gone) frees the run."""
    from owp.experiments import load_study, run_study
    from owp.experiments.runner import _claim
    study = str(tmp_path / 'locked')
    _write_study(study, [dict(name='fine', config=osp.join(SHAPES, 'fcos-owp-ctr_r18-tiny_fpn_1k_shapes.py'),
                              scores=['centerness'])],
                 data_root=tiny_shapes, cfg_options=dict(_tiny_options(), **{'train_cfg.max_iters': 2}))
    work = str(tmp_path / 'work')
    run_dir = osp.join(work, 'fine', 'seed0')
    os.makedirs(run_dir)
    held = _claim(run_dir)  # what a runner in another process holds while it trains
    assert held is not None and _claim(run_dir) is None
    s = load_study(study)
    assert run_study(s, work, cfg_options=SCALE_64) == 1
    assert 'fine/seed0: running elsewhere (another runner holds' in capsys.readouterr().out
    assert not osp.exists(osp.join(run_dir, 'state.json'))  # untouched
    os.close(held)
    assert run_study(s, work, cfg_options=SCALE_64) == 0
    assert osp.isfile(osp.join(run_dir, 'metrics.json'))
