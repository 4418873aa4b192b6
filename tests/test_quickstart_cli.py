"""scripts/quickstart.py refuses impossible arguments before doing any work."""
import os.path as osp
import shlex
import subprocess
import sys

import pytest
from conftest import REPO

SCRIPT = osp.join(REPO, 'scripts', 'quickstart.py')


@pytest.mark.parametrize('args, words', [
    (['--runs'], '--runs: name at least one run'),
    (['--runs', 'nope'], "invalid choice: 'nope'"),
    (['--iters', '0'], '--iters must be >= 1, got 0'),
    (['--iters', '-5'], '--iters must be >= 1'),
    (['--batch-size', '0'], '--batch-size must be >= 1'),
    (['--num-train', '0'], '--num-train must be >= 1'),
    (['--num-val', '0'], '--num-val must be >= 1'),
    (['--workers', '-1'], '--workers must be >= 0'),
])
def test_bad_arguments_fail_before_any_work(tmp_path, args, words):
    data = tmp_path / 'data'
    proc = subprocess.run([sys.executable, SCRIPT, '--out', str(tmp_path / 'out'),
                           '--data', str(data), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert words in proc.stderr
    assert not data.exists() and not (tmp_path / 'out').exists()  # nothing generated


def test_quickstart_is_the_quickstart_study_run_by_the_runner(tmp_path):
    """--dry-run prints the runner's mim commands with the size options applied."""
    out, data = tmp_path / 'out', tmp_path / 'data'
    proc = subprocess.run([sys.executable, SCRIPT, '--out', str(out), '--data', str(data),
                           '--runs', 'owp-iou', '--iters', '40', '--seeds', '3,4',
                           '--workers', '0', '--dry-run'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    train = [ln for ln in proc.stdout.splitlines() if ' train mmdet ' in ln]
    assert len(train) == 2  # one row x two seeds
    for seed, line in zip((3, 4), train):
        assert 'configs/shapes/fcos-owp-iou_r18-tiny_fpn_1k_shapes.py' in line
        assert f'--work-dir {out}/owp-iou/seed{seed} ' in line
        for word in ('train_cfg.max_iters=40', 'param_scheduler.1.milestones=[30]',
                     f'train_dataloader.dataset.data_root={data}/', f'randomness.seed={seed}',
                     'train_dataloader.num_workers=0'):
            assert word in shlex.split(line), word
    assert 'experiments/quickstart/manifest.yaml --row owp-iou --seed 3' in proc.stdout
    assert not data.exists() and not out.exists()
