from .checkpoint_trust_hook import CheckpointTrustHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .sync_buffers_hook import SyncBuffersIterHook

__all__ = ['CheckpointTrustHook', 'FiniteLossHook', 'NonFiniteLossError', 'SyncBuffersIterHook']
