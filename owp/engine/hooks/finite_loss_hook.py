"""Stop training at the first NaN or infinite loss, before it reaches a checkpoint."""
import math
from typing import Dict, Optional

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

__all__ = ['FiniteLossHook', 'NonFiniteLossError']


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite during training."""


def _is_finite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value.detach()).all())
    return math.isfinite(float(value))


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a loss term is NaN or infinite.

    Every training iteration, each ``loss*`` entry of the model's outputs is
    checked (mmengine's ``RuntimeInfoHook`` already reads every logged value
    back to the host, so this adds no device sync). The first non-finite
    iteration of each term is recorded; training stops at the next check,
    every ``interval`` iterations, and always before a checkpoint is written
    (``before_save_checkpoint``), so the last checkpoint on disk holds weights
    from before the first bad loss. The error names the terms, their values,
    the iteration (1-based, as logged) and that checkpoint.

    mmdet's ``CheckInvalidLossHook`` checks only the total loss, only on every
    ``interval``-th iteration, and fails with a bare ``AssertionError``.

    Args:
        interval (int): Check every ``interval`` iterations (>= 1). Set it to
            the logger's interval or less to stop "within one logging interval".
    """

    # Before LoggerHook (BELOW_NORMAL) and CheckpointHook (VERY_LOW) in after_train_iter.
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f'FiniteLossHook: interval must be an int >= 1, got {interval!r}')
        self.interval = interval
        self._first_bad: Dict[str, tuple] = {}  # term -> (iteration, value)
        self._last_good: Optional[str] = None

    def before_train(self, runner) -> None:
        self._first_bad = {}
        # after load_or_resume: a resumed run starts from its checkpoint
        self._last_good = runner.message_hub.get_info('last_ckpt')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        for name, value in (outputs or {}).items():
            if name.startswith('loss') and name not in self._first_bad \
                    and not _is_finite(value):
                value = value.detach().float().flatten()[0].item() \
                    if isinstance(value, torch.Tensor) else float(value)
                self._first_bad[name] = (runner.iter + 1, value)
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._check(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self._check(runner)
        # CheckpointHook sets `last_ckpt` to the file it is about to write
        self._last_good = runner.message_hub.get_info('last_ckpt')

    def _check(self, runner) -> None:
        if not self._first_bad:
            return
        first = min(it for it, _ in self._first_bad.values())
        terms = [n for n, (it, _) in self._first_bad.items() if it == first]
        # the total `loss` is the sum of the others: name the terms that caused it
        named = [n for n in terms if n != 'loss'] or terms
        values = ', '.join(f'{n}={self._first_bad[n][1]}' for n in named)
        later = sorted((it, n) for n, (it, _) in self._first_bad.items()
                       if it != first and n != 'loss')
        last = self._last_good
        kept = (f'the last checkpoint written, {last!r}, was saved before it' if last
                else 'no checkpoint had been written yet')
        msg = (f'non-finite loss at iteration {first} ({values}); training stopped at '
               f'iteration {runner.iter + 1} and {kept}.')
        if later:
            msg += ' Later non-finite: ' + ', '.join(f'{n} at {it}' for it, n in later) + '.'
        msg += ' A learning rate too high for the batch size is the usual cause.'
        runner.logger.error(msg)
        raise NonFiniteLossError(msg)
