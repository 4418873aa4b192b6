"""Distributed training and evaluation on CPU: 2 gloo processes against 1 process.

The 2-process runs go through the real launchers (``scripts/dist_train.sh`` =
torchrun + mmdet's train.py, ``NPROC=2 scripts/eval_novel.sh`` = torchrun +
``owp.tools.eval_novel --launcher pytorch``) with the
shapes root config; the single-process references run in this process on the
checkpoint the 2 processes wrote. One thread everywhere (torchrun's default),
so that the two sides compute bit-identical boxes.
"""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import REPO, SHAPES_ROOT_CONFIG, log_records, tiny_shapes_config
from mmengine.config import Config
from mmengine.hooks import Hook

NUM_VAL = 7  # odd: the 2-rank val sampler pads with one image seen twice


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _env(**extra):
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    env.update(extra)
    return env


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.fixture(scope='module')
def odd_shapes(tmp_path_factory):
    from owp.datasets.shapes import generate_shapes
    root = tmp_path_factory.mktemp('shapes_odd')
    generate_shapes(str(root), tiny_shapes_config(num_train=8, num_val=NUM_VAL))
    return str(root) + '/'


def _write_config(path, data_root, dump):
    """The shapes root config, 2 iterations, recall + score dump at the end."""
    ann = data_root + 'annotations/instances_val.json'
    path.write_text(textwrap.dedent(f"""\
        _base_ = {SHAPES_ROOT_CONFIG!r}
        _root = {data_root!r}
        _loader = dict(num_workers=0, persistent_workers=False, batch_size=2)
        train_dataloader = dict(dataset=dict(data_root=_root), **_loader)
        # batch 1: a conv's result on one image may differ in the last bits with
        # the other images of its batch, and the ranks' batches differ from one
        # process's
        val_dataloader = dict(dataset=dict(data_root=_root), **dict(_loader, batch_size=1))
        test_dataloader = val_dataloader
        val_evaluator = [
            dict(type='OWPRecallMetric', ann_file={ann!r}, split='shapes',
                 subsets=('novel', 'base'), max_dets=(10, 100)),
            dict(type='OWPScoreDump', ann_file={ann!r}, out_file={dump!r}),
        ]
        test_evaluator = val_evaluator
        train_cfg = dict(max_iters=2, val_interval=2)
        default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
        # Boxes of about two strides from the start, so that 2 iterations already
        # give a recall above 0 (an all-zero recall would hide missing images).
        model = dict(test_cfg=dict(with_score_components=True), bbox_head=dict(init_cfg=dict(
            type='Normal', layer='Conv2d', std=0.01,
            override=[dict(type='Normal', name='conv_cls', std=0.01, bias_prob=0.01),
                      dict(type='Normal', name='conv_reg', std=0.01, bias=1.0)])))
        """))
    return str(path)


def _val_metrics(work_dir):
    """The last validation's metrics that the training run logged (rank 0)."""
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    row = [r for r in rows if 'novel/AR@100' in r][-1]
    return {k: v for k, v in row.items() if '/' in k}


class _Record(Hook):
    def __init__(self):
        self.iters, self.start_state = [], None

    def before_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        self.start_state = {k: v.clone() for k, v in model.state_dict().items()}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters.append(runner.iter)


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_two_process_train_and_eval_equal_one_process(odd_shapes, tmp_path, one_thread):
    from mmengine.runner import Runner

    import owp.registration  # noqa: F401
    from owp.evaluation.metrics import load_score_dump
    from owp.tools.eval_novel import to_output_json

    work = tmp_path / 'ddp'
    cfg_ddp = _write_config(tmp_path / 'ddp.py', odd_shapes, str(tmp_path / 'scores_ddp.npz'))
    out = _run(['bash', osp.join(REPO, 'scripts', 'dist_train.sh'), cfg_ddp, '2',
                '--work-dir', str(work)], cwd=tmp_path, env=_env(PORT=str(_free_port())))
    assert "using the 'gloo' process-group backend" in out  # the config says nccl
    assert 'Iter(train) [2/2]' in out
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    ddp_val = _val_metrics(str(work))
    assert ddp_val['novel/AR@100'] > 0 and ddp_val['base/AR@100'] > 0

    # the same checkpoint, one process: same recall, same proposals, each image once
    cfg = Config.fromfile(_write_config(tmp_path / 'one.py', odd_shapes,
                                        str(tmp_path / 'scores_one.npz')))
    cfg.work_dir = str(tmp_path / 'one')
    cfg.load_from = str(ckpt)
    one = Runner.from_cfg(cfg).test()
    assert {k: v for k, v in one.items() if k in ddp_val} == ddp_val
    ddp_dump = load_score_dump(str(tmp_path / 'scores_ddp.npz'))
    one_dump = load_score_dump(str(tmp_path / 'scores_one.npz'))
    with open(odd_shapes + 'annotations/instances_val.json') as f:
        img_ids = {im['id'] for im in json.load(f)['images']}
    assert set(one_dump['img_id'].tolist()) == img_ids
    assert 1 + np.count_nonzero(np.diff(one_dump['img_id'])) == NUM_VAL  # one block each
    assert ddp_dump.keys() == one_dump.keys()
    for k in one_dump:
        np.testing.assert_array_equal(ddp_dump[k], one_dump[k], err_msg=k)

    # eval_novel.sh model mode on 2 processes (torchrun)
    _run(['bash', osp.join(REPO, 'scripts', 'eval_novel.sh'), cfg_ddp, str(ckpt),
          '--work-dir', str(tmp_path / 'ev_ddp'), '--out', str(tmp_path / 'ddp.json')],
         cwd=tmp_path, env=_env(NPROC='2', PORT=str(_free_port())))
    # eval_novel runs OWPRecallMetric with the config's settings: the same numbers as `one`
    assert json.loads((tmp_path / 'ddp.json').read_text()) == to_output_json(
        {k: v for k, v in one.items() if k.split('/')[0] in ('novel', 'base')})

    # the checkpoint written under DDP resumes in a single process
    cfg2 = Config.fromfile(cfg_ddp)
    cfg2.work_dir = str(work)
    cfg2.resume = True
    cfg2.train_cfg.max_iters = 3
    cfg2.train_cfg.val_interval = 100
    runner = Runner.from_cfg(cfg2)
    rec = _Record()
    runner.register_hook(rec)
    runner.train()
    assert rec.iters == [2]  # iteration 3 only
    saved = torch.load(ckpt, map_location='cpu', weights_only=False)
    for k, v in saved['state_dict'].items():
        assert torch.equal(rec.start_state[k], v), k
    assert (work / 'iter_3.pth').is_file()


def test_slurm_launcher_on_cpu_head_reduce_mean_and_buffer_sync(tmp_path):
    """2 processes started as `srun` would (SLURM_* variables), `--launcher slurm`:
    the shim starts gloo without CUDA; reduce_mean in the head divides by the world
    size (each rank's loss is normalised by the mean positive count of both ranks);
    SyncBuffersIterHook averages the float buffers."""
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = _env(SLURM_PROCID=str(rank), SLURM_LOCALID=str(rank), SLURM_NTASKS='2',
                   SLURM_NODELIST='localhost', MASTER_ADDR='127.0.0.1', MASTER_PORT=port)
        for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE'):
            env.pop(k, None)
        procs.append(subprocess.Popen(
            [sys.executable, osp.join(REPO, 'tests', '_dist_worker.py'), str(tmp_path)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out[-4000:]
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    num_pos = ranks[0]['num_pos']
    assert num_pos == ranks[1]['num_pos'] and num_pos[0] != num_pos[1]
    mean_pos = sum(num_pos) / 2
    for r, res in enumerate(ranks):
        assert (res['rank'], res['world_size'], res['backend']) == (r, 2, 'gloo')
        for key in ('loss_cls', 'loss_iou'):  # both divided by the (reduced) positive count
            assert res['ddp'][key] * mean_pos == pytest.approx(res['local'][key] * num_pos[r],
                                                               rel=1e-5), key
        assert res['bn_mean'] == [1.5] * 3 and res['bn_tracked'] == 7


def test_cpu_shim_defers_to_mmengine_when_cuda_is_available(monkeypatch):
    from mmengine.dist import utils as dist_utils

    from owp.engine import distributed as shim
    calls = []
    monkeypatch.setattr(shim, '_cuda_available', lambda: True)
    monkeypatch.setitem(shim._ORIGINAL, 'pytorch', lambda *a, **k: calls.append(('pytorch', a, k)))
    monkeypatch.setitem(shim._ORIGINAL, 'slurm', lambda *a, **k: calls.append(('slurm', a, k)))
    dist_utils._init_dist_pytorch('nccl', timeout=5)
    dist_utils._init_dist_slurm('nccl', port=123)
    assert calls == [('pytorch', ('nccl', ), dict(init_backend='torch', timeout=5)),
                     ('slurm', ('nccl', ), dict(port=123, init_backend='torch'))]
    from mmengine.runner import runner as runner_module
    assert runner_module.MMDistributedDataParallel is shim.CPUDistributedDataParallel
    with log_records() as records:
        assert shim.cpu_backend('nccl') == 'gloo'
        assert shim.cpu_backend('gloo') == 'gloo'
    assert len(records) == 1 and "using the 'gloo' process-group backend instead of the " \
        "config's 'nccl'" in records[0].getMessage()


@pytest.mark.parametrize('script,args,expected', [
    ('dist_train.sh', ['cfg.py', '4', '--resume'],
     ['-m torch.distributed.run', '--master_port=29500', '--nproc_per_node=4',
      '/.mim/tools/train.py cfg.py --launcher pytorch --resume']),
    ('slurm_train.sh', ['part', 'job', 'cfg.py', 'wd', '--cfg-options', 'a=1'],
     ['srun -p part --job-name=job --gres=gpu:8 --ntasks=8 --ntasks-per-node=8 '
      '--cpus-per-task=5 --kill-on-bad-exit=1 ',
      '/.mim/tools/train.py cfg.py --work-dir=wd --launcher=slurm --cfg-options a=1']),
])
def test_launch_scripts_dry_run(script, args, expected):
    out = _run(['bash', osp.join(REPO, 'scripts', script), *args],
               env=_env(DRY_RUN='1', PORT='29500'))
    assert out.count('\n') == 1, out
    for part in expected:
        assert part in out, (part, out)


def test_launch_scripts_usage_errors():
    for script in ('dist_train.sh', 'slurm_train.sh'):
        proc = subprocess.run(['bash', osp.join(REPO, 'scripts', script), 'cfg.py'],
                              capture_output=True, text=True, env=_env(DRY_RUN='1'))
        assert proc.returncode == 2 and 'usage:' in proc.stderr
