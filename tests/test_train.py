"""Real training: `mim train` from outside the repo, and checkpoint resume on torch >= 2.6."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from conftest import SHAPES_ROOT_CONFIG, cfg_options_for, point_config_at
from mmengine.config import Config
from mmengine.hooks import Hook


def test_mim_train_two_iterations(tiny_shapes, tmp_path):
    """`mim train mmdet CONFIG` runs mmdet's own train.py: owp must load via custom_imports."""
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    work_dir = tmp_path / 'work'
    cmd = [mim, 'train', 'mmdet', SHAPES_ROOT_CONFIG, '--work-dir', str(work_dir),
           '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
           'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
           *cfg_options_for(SHAPES_ROOT_CONFIG, tiny_shapes)]
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    # cwd outside the repo: nothing but the installed package can provide owp.
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert (work_dir / 'iter_2.pth').is_file()
    assert 'Iter(train) [2/2]' in out
    assert 'novel/AR@100' in out  # the OWP recall metric ran on the val set


class _CountIters(Hook):
    def __init__(self):
        self.iters = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters.append(runner.iter)


def _runner(cfg):
    from mmengine.runner import Runner
    return Runner.from_cfg(cfg)


def test_resume_continues_from_last_checkpoint(tiny_shapes, tmp_path):
    import owp.registration  # noqa: F401
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    point_config_at(cfg, tiny_shapes, work_dir=tmp_path, max_iters=2)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.train_cfg.val_interval = 100  # no validation in this test
    _runner(cfg).train()
    ckpt = tmp_path / 'iter_2.pth'
    assert ckpt.is_file()

    # The bug owp fixes: torch >= 2.6 refuses mmengine's own checkpoints by default.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)
    saved = torch.load(ckpt, weights_only=False)

    cfg2 = cfg.copy()
    cfg2.train_cfg.max_iters = 4
    cfg2.resume = True  # finds last_checkpoint in work_dir, like a crash-restart
    runner = _runner(cfg2)
    counter = _CountIters()
    runner.register_hook(counter)
    runner.train()
    assert counter.iters == [2, 3]  # continued at iteration 3 (0-based 2), not from scratch
    resumed = torch.load(tmp_path / 'iter_4.pth', weights_only=False)
    assert resumed['meta']['iter'] == 4
    # Optimizer state (momentum) was restored, not re-initialised.
    assert resumed['optimizer']['state'] and saved['optimizer']['state']


def test_load_from_checkpoint(tiny_shapes, tmp_path):
    """`load_from` (finetuning from an OWP checkpoint) goes through the same loader."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import owp.registration  # noqa: F401

    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    path = tmp_path / 'm.pth'
    from mmengine.logging import HistoryBuffer
    torch.save({'state_dict': model.state_dict(), 'message_hub': HistoryBuffer()}, path)
    model2 = MODELS.build(cfg.model)
    load_checkpoint(model2, str(path), map_location='cpu', strict=True)
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert torch.equal(a, b), k
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint(model2, str(tmp_path / 'nope.pth'))


def test_finetune_recipe_trains_from_an_owp_checkpoint(tiny_shapes, tmp_path):
    """OWP model (frozen classifier) -> finetune config: load_from, slowed branches, 2 iters."""
    from conftest import CONFIGS

    import owp.registration  # noqa: F401

    owp_cfg = Config.fromfile(osp.join(CONFIGS, 'shapes',
                                       'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py'))
    point_config_at(owp_cfg, tiny_shapes, work_dir=tmp_path / 'owp', max_iters=1)
    owp_cfg.default_hooks.checkpoint.interval = 1
    owp_cfg.train_cfg.val_interval = 100
    _runner(owp_cfg).train()
    # mark the OWP weights, so that loading them is visible (same seed, same init)
    saved = torch.load(tmp_path / 'owp' / 'iter_1.pth', weights_only=False)
    saved['state_dict']['bbox_head.conv_iou.weight'] += 1.0
    ckpt = tmp_path / 'owp_marked.pth'
    torch.save(saved, ckpt)
    owp_state = saved['state_dict']

    cfg = Config.fromfile(osp.join(CONFIGS, 'shapes',
                                   'fcos-owp-iou-cs-is-finetune_r18-tiny_fpn_1k_shapes.py'))
    point_config_at(cfg, tiny_shapes, work_dir=tmp_path / 'ft', max_iters=2)
    cfg.load_from = str(ckpt)
    cfg.train_cfg.val_interval = 100
    runner = _runner(cfg)
    runner.train()
    model = runner.model
    assert model.bbox_head.cls_mode == 'joint'
    lrs = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for g in runner.optim_wrapper.optimizer.param_groups:
        lrs[names[id(g['params'][0])]] = g['lr']
    assert lrs['bbox_head.conv_reg.weight'] == pytest.approx(0.1 * lrs['bbox_head.conv_cls.weight'])
    assert lrs['bbox_head.conv_reg.bias'] == pytest.approx(0.1 * lrs['bbox_head.conv_cls.bias'])
    # started from the OWP weights (a fresh init would be far away), and the
    # classifier (frozen there) now learns
    after = model.state_dict()
    ref = owp_state['bbox_head.conv_iou.weight']
    assert (after['bbox_head.conv_iou.weight'] - ref).abs().max() < 0.05
    assert not torch.equal(after['bbox_head.conv_cls.weight'],
                           owp_state['bbox_head.conv_cls.weight'])


def test_unknown_masking_trains_through_the_real_pipeline(tiny_shapes, tmp_path):
    """Masking (point and area) on real data batches: boxes as the pipeline makes them."""
    from conftest import CONFIGS

    import owp.registration  # noqa: F401

    cfg = Config.fromfile(osp.join(
        CONFIGS, 'shapes', 'fcos-owp-iou-cs-is-joint-unknown_r18-tiny_fpn_1k_shapes.py'))
    point_config_at(cfg, tiny_shapes, work_dir=tmp_path, max_iters=2)
    cfg.train_cfg.val_interval = 100
    cfg.model.bbox_head.unknown_masking.update(thr=0.01, start_iter=0, area=True,
                                               area_nms_iou=0.5)
    runner = _runner(cfg)
    masked = []

    class _Grab(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            masked.append(float(outputs['num_unknown_masked']))

    runner.register_hook(_Grab())
    runner.train()
    assert len(masked) == 2 and all(m > 0 for m in masked)
