"""FiniteLossHook: a NaN/inf loss stops training with a clear error, last good checkpoint kept."""
import math

import pytest
import torch
from conftest import SHAPES_ROOT_CONFIG, point_config_at, shrink_images
from mmengine.config import Config

from owp.engine import FiniteLossHook, NonFiniteLossError
from owp.models import OWPFCOSHead


@pytest.fixture
def nan_from_iteration_3(monkeypatch):
    """`loss_bbox` becomes NaN from the 3rd training iteration (1-based) on."""
    calls = []
    loss_by_feat = OWPFCOSHead.loss_by_feat

    def patched(self, *args, **kwargs):
        losses = loss_by_feat(self, *args, **kwargs)
        calls.append(1)
        if len(calls) >= 3:
            losses['loss_bbox'] = losses['loss_bbox'] * float('nan')
        return losses

    monkeypatch.setattr(OWPFCOSHead, 'loss_by_feat', patched)


def _run(tiny_shapes, work_dir, guard_interval):
    from mmengine.runner import Runner
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    shrink_images(point_config_at(cfg, tiny_shapes, work_dir=work_dir, max_iters=6))
    cfg.train_cfg.val_interval = 100
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.finite_loss.interval = guard_interval
    runner = Runner.from_cfg(cfg)
    with pytest.raises(NonFiniteLossError) as e:
        runner.train()
    return runner, str(e.value)


@pytest.mark.parametrize('guard_interval,stopped', [(1, 3), (5, 4)])
def test_nan_loss_stops_training_keeping_last_good_checkpoint(
        nan_from_iteration_3, tiny_shapes, tmp_path, guard_interval, stopped):
    runner, msg = _run(tiny_shapes, tmp_path, guard_interval)
    assert 'non-finite loss at iteration 3 (loss_bbox=nan)' in msg
    assert f'training stopped at iteration {stopped}' in msg
    assert 'iter_2.pth' in msg
    # interval 1 stops at once; interval 5 would check at 5, but the checkpoint
    # of iteration 4 is refused before it is written
    assert runner.iter + 1 == stopped
    assert (tmp_path / 'iter_2.pth').is_file() and not (tmp_path / 'iter_4.pth').exists()
    weights = torch.load(tmp_path / 'iter_2.pth', weights_only=False)['state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values())
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_2.pth')


def test_hook_names_every_term_and_validates_interval():
    with pytest.raises(ValueError, match='interval'):
        FiniteLossHook(interval=0)

    class _Hub:
        def get_info(self, key):
            return None

    class _Runner:
        iter = 6
        max_iters = 100
        message_hub = _Hub()

        class logger:
            @staticmethod
            def error(msg):
                pass

    hook = FiniteLossHook(interval=2)
    runner = _Runner()
    runner.iter = 4  # 5th iteration: not a check yet
    inf = torch.tensor(math.inf)
    hook.after_train_iter(runner, 0, outputs=dict(loss=inf, loss_cls=inf,
                                                  loss_iou=torch.tensor(0.5)))
    runner.iter = 5
    with pytest.raises(NonFiniteLossError) as e:
        hook.after_train_iter(runner, 0, outputs=dict(loss=inf, loss_cls=torch.tensor(1.),
                                                      loss_iou=torch.tensor(math.nan)))
    msg = str(e.value)
    assert 'at iteration 5 (loss_cls=inf)' in msg and 'loss_iou at 6' in msg
    assert 'no checkpoint had been written yet' in msg
