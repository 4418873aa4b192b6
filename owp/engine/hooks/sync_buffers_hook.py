"""Keep model buffers (BatchNorm running statistics) equal on every rank."""
import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

__all__ = ['SyncBuffersIterHook']


@HOOKS.register_module()
class SyncBuffersIterHook(Hook):
    """Average the floating-point buffers over ranks after every training iteration.

    mmengine wraps models with ``broadcast_buffers=False``, so under DDP each
    rank updates its own BatchNorm running statistics from its own images.
    The checkpoint holds rank 0's, while the validation that follows runs
    every rank with its own: the recall that several processes report then
    differs from the checkpoint's (measured on the shapes model, whose
    ResNet-18 trains its BN from scratch). mmengine's ``SyncBuffersHook``
    averages only before validation, after the checkpoint of that iteration
    has been written.

    Averaging after each iteration (before ``CheckpointHook``, which has the
    lowest priority) keeps all ranks identical, so every rank validates the
    model the checkpoint holds. The average of the ranks' running means is the
    running mean of the ranks' batch means (the update is linear). Integer
    buffers (``num_batches_tracked``) already agree. A no-op in a single
    process; frozen statistics (``norm_eval=True``) are left as they are.
    """

    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not is_distributed():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        buffers = [b for b in model.buffers() if torch.is_floating_point(b)]
        if buffers:
            all_reduce_params(buffers, op='mean')
