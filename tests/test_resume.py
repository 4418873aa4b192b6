"""Resume is exact: N iterations straight == N/2, SIGKILL, resume to N (weights and recall)."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import torch
from conftest import REPO, SHAPES_ROOT_CONFIG

# The child trains the tiny shapes config at 64 px on one thread and writes the
# final validation metrics; with --kill-at K it SIGKILLs itself right after the
# checkpoint of iteration K is on disk (no clean exit, no after_run).
CHILD = textwrap.dedent('''
    import json, os, signal, sys
    sys.path.insert(0, os.path.join(sys.argv[1], 'tests'))
    import torch
    torch.set_num_threads(1)
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    from conftest import point_config_at, shrink_images
    config, data_root, work_dir, iters, kill_at, resume = sys.argv[2:8]
    iters, kill_at = int(iters), int(kill_at)
    cfg = Config.fromfile(config)
    shrink_images(point_config_at(cfg, data_root, work_dir=work_dir, max_iters=iters))
    cfg.default_hooks.checkpoint.interval = iters // 2
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.resume = resume == 'resume'

    class Kill(Hook):
        priority = 'LOWEST'  # after CheckpointHook wrote the file

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if runner.iter + 1 == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    class Metrics(Hook):
        def after_val_epoch(self, runner, metrics=None):
            with open(os.path.join(work_dir, 'metrics.json'), 'w') as f:
                json.dump(metrics, f)

    runner = Runner.from_cfg(cfg)
    runner.register_hook(Kill())
    runner.register_hook(Metrics())
    runner.train()
''')


def _train(tmp_path, tiny_shapes, work_dir, iters, kill_at=0, resume=False):
    script = tmp_path / 'child.py'
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, str(script), REPO, SHAPES_ROOT_CONFIG, tiny_shapes,
                           str(work_dir), str(iters), str(kill_at),
                           'resume' if resume else 'fresh'],
                          env=env, capture_output=True, text=True, timeout=600)
    return proc


def test_sigkill_and_resume_equals_straight_training(tiny_shapes, tmp_path):
    n = 4
    straight, killed = tmp_path / 'straight', tmp_path / 'killed'
    proc = _train(tmp_path, tiny_shapes, straight, n)
    assert proc.returncode == 0, proc.stderr[-3000:]

    proc = _train(tmp_path, tiny_shapes, killed, n, kill_at=n // 2)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert (killed / f'iter_{n // 2}.pth').is_file() and not (killed / 'metrics.json').exists()
    proc = _train(tmp_path, tiny_shapes, killed, n, resume=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'resumed epoch: 0, iter: {n // 2}' in proc.stdout + proc.stderr

    a = torch.load(straight / f'iter_{n}.pth', weights_only=False)
    b = torch.load(killed / f'iter_{n}.pth', weights_only=False)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k, v in a['state_dict'].items():
        assert torch.equal(v, b['state_dict'][k]), k
    # the optimizer's state too (AdamW's step and both moments on shapes), and the lr the
    # schedulers reached
    state_a, state_b = a['optimizer']['state'], b['optimizer']['state']
    assert state_a.keys() == state_b.keys() and len(state_a) > 0
    for sa, sb in zip(state_a.values(), state_b.values()):
        assert sa.keys() == sb.keys() and {'exp_avg', 'exp_avg_sq'} <= sa.keys()
        for key, va in sa.items():
            assert torch.equal(va, sb[key]), key
    assert [g['lr'] for g in a['optimizer']['param_groups']] == \
        [g['lr'] for g in b['optimizer']['param_groups']]
    ma = json.loads((straight / 'metrics.json').read_text())
    mb = json.loads((killed / 'metrics.json').read_text())
    assert 'novel/AR@100' in ma and ma == mb
