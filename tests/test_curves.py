"""owp.analysis.curves and scripts/plot_curves.py on hand-written scalars.json files."""
import csv
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import REPO

from owp.analysis import gain_over_last, plot_curves, read_scalars


def _train(it, loss, loss_cls, lr=0.01):
    return dict(lr=lr, data_time=0.01, loss=loss, loss_cls=loss_cls, time=0.5, iter=it,
                memory=0, step=it)


def _val(it, ap, ar100):
    # What mmengine's LoggerHook(log_metric_by_epoch=False) writes after a validation.
    return {'base/AP': ap, 'novel/AR@100': ar100, 'novel/ARl@100': -1.0, 'data_time': 0.02, 'time': 0.3, 'step': it}


def _write(run_dir, stamp, lines):
    path = osp.join(run_dir, stamp, 'vis_data', 'scalars.json')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        for line in lines:
            f.write(json.dumps(line) + '\n')
    return path


@pytest.fixture
def two_runs(tmp_path):
    """fcos/seed0 (resumed once: two timestamp folders) and owp/seed0."""
    fcos = str(tmp_path / 'fcos' / 'seed0')
    _write(fcos, '20260101_000000', [_train(10, 3.0, 1.0), _train(20, 2.0, 0.8),
                                     _val(20, 0.10, 0.30), _train(30, 1.9, 0.7)])
    # the resume restarts at 20: iteration 30 is logged again, the later value wins
    _write(fcos, '20260101_010000', [_train(30, 1.5, 0.6), _train(40, 1.0, 0.5),
                                     _val(40, 0.25, 0.41)])
    owp = str(tmp_path / 'owp' / 'seed0')
    _write(owp, '20260101_000000', [_train(10, 2.0, 0.9), _val(20, 0.0, 0.35),
                                    _train(20, 1.8, 0.7), _val(40, 0.0, 0.50)])
    return fcos, owp


def _value(table, run, kind, it, metric):
    sel = table[(table.run == run) & (table.kind == kind) & (table.iteration == it)
                & (table.metric == metric)]
    assert len(sel) == 1, sel
    return sel.value.item()


def test_read_scalars_tidy_table(two_runs):
    table = read_scalars(list(two_runs))
    assert list(table.columns) == ['run', 'kind', 'iteration', 'metric', 'value']
    assert set(table.run) == {'fcos/seed0', 'owp/seed0'}
    # losses and lr are training rows; timing and bookkeeping keys are dropped
    assert set(table[table.kind == 'train'].metric) == {'loss', 'loss_cls', 'lr'}
    # -1 (no box in the area range) is not a value
    assert set(table[table.kind == 'val'].metric) == {'base/AP', 'novel/AR@100'}
    assert _value(table, 'fcos/seed0', 'val', 40, 'novel/AR@100') == pytest.approx(0.41)
    assert _value(table, 'fcos/seed0', 'val', 20, 'base/AP') == pytest.approx(0.10)
    assert _value(table, 'owp/seed0', 'train', 20, 'loss_cls') == pytest.approx(0.7)
    # the resumed run's repeated iteration keeps the later file's value
    assert _value(table, 'fcos/seed0', 'train', 30, 'loss') == pytest.approx(1.5)
    fcos_loss = table[(table.run == 'fcos/seed0') & (table.metric == 'loss')]
    assert fcos_loss.iteration.tolist() == [10, 20, 30, 40]
    # named runs
    named = read_scalars({'a': two_runs[0]})
    assert set(named.run) == {'a'}


def test_read_scalars_errors(tmp_path, two_runs):
    with pytest.raises(FileNotFoundError, match='no <timestamp>/vis_data/scalars.json'):
        read_scalars(str(tmp_path))
    bad = _write(str(tmp_path / 'bad'), '20260101_000000', [_train(10, 1.0, 1.0)])
    with open(bad, 'a') as f:
        f.write('{"loss": 1.0\n')
    with pytest.raises(ValueError, match=r'scalars.json:2: not a JSON line'):
        read_scalars(str(tmp_path / 'bad'))
    # mmengine's default LoggerHook(log_metric_by_epoch=True) in an iteration loop
    at0 = str(tmp_path / 'at0')
    _write(at0, '20260101_000000', [_train(10, 1.0, 1.0), _val(0, 0.1, 0.2),
                                    _train(20, 1.0, 1.0), _val(0, 0.2, 0.3)])
    with pytest.raises(ValueError, match='log_metric_by_epoch=False'):
        read_scalars(at0)
    with pytest.raises(ValueError, match="both named run 'fcos/seed0'"):
        read_scalars([two_runs[0], two_runs[0]])


def test_gain_over_last(two_runs):
    gains = gain_over_last(read_scalars(list(two_runs)), frac=0.5)
    row = gains[(gains.run == 'owp/seed0') & (gains.metric == 'novel/AR@100')
                & (gains.iteration == 40)]
    assert row['from'].item() == 20
    assert row.gain.item() == pytest.approx(0.15)
    first = gains[(gains.iteration == 20)]
    assert first.gain.isna().all()  # iteration 10 was not validated
    with pytest.raises(ValueError, match='frac'):
        gain_over_last(read_scalars(two_runs[0]), frac=1.5)


def test_plot_curves_writes_figure(tmp_path, two_runs):
    table = read_scalars(list(two_runs))
    out = plot_curves(table, str(tmp_path / 'curves.png'), smooth=2, title='t')
    assert osp.getsize(out) > 1000
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(ValueError, match="validation metric 'novel/AR@10'"):
        plot_curves(table, str(tmp_path / 'x.png'), metrics=['novel/AR@10'])


def test_smooth_is_centred_mean():
    from owp.analysis.curves import _smooth
    np.testing.assert_allclose(_smooth(np.array([1., 3., 5., 7.]), 3), [2., 3., 5., 6.])
    np.testing.assert_allclose(_smooth(np.array([1., 3., 5., 7.]), 2), [1., 2., 4., 6.])
    np.testing.assert_allclose(_smooth(np.array([1., 3.]), 1), [1., 3.])


def test_plot_curves_script_csv(tmp_path, two_runs):
    spec = importlib.util.spec_from_file_location(
        'plot_curves', osp.join(REPO, 'scripts', 'plot_curves.py'))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out, table = tmp_path / 'c.png', tmp_path / 'c.csv'
    assert script.main([f'fcos={two_runs[0]}', f'owp={two_runs[1]}', '--out', str(out),
                        '--csv', str(table), '--metrics', 'novel/AR@100']) == 0
    assert out.is_file()
    with open(table) as f:
        rows = list(csv.DictReader(f))
    assert [(r['run'], r['iteration']) for r in rows] == [
        ('fcos', '20'), ('fcos', '40'), ('owp', '20'), ('owp', '40')]
    assert float(rows[1]['novel/AR@100']) == pytest.approx(41.0)  # percent
    assert float(rows[0]['base/AP']) == pytest.approx(10.0)
    with pytest.raises(SystemExit):
        script.main([f'fcos={two_runs[0]}', two_runs[1], '--out', str(out)])
