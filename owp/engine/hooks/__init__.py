from .checkpoint_trust_hook import CheckpointTrustHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError

__all__ = ['CheckpointTrustHook', 'FiniteLossHook', 'NonFiniteLossError']
