"""scripts/quickstart.py refuses impossible arguments before doing any work."""
import os.path as osp
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
