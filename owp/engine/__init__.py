# Importing checkpoint has a side effect: mmengine's local checkpoint loader
# becomes owp's safe one (weights_only=True plus mmengine's own objects; see
# owp/engine/checkpoint.py). Importing hooks registers owp's hooks in HOOKS.
from .checkpoint import (TRUST_CFG_KEY, TRUST_ENV_VAR, UntrustedCheckpointError,
                         checkpoints_trusted, load_from_local_safe, load_from_local_trusted,
                         mmengine_safe_globals, trusted_checkpoints)
from .hooks import CheckpointTrustHook, FiniteLossHook, NonFiniteLossError
from .optimizer import ScaledOptimWrapperConstructor, longest_matching_key

__all__ = ['TRUST_CFG_KEY', 'TRUST_ENV_VAR', 'UntrustedCheckpointError', 'checkpoints_trusted',
           'load_from_local_safe', 'load_from_local_trusted', 'mmengine_safe_globals',
           'trusted_checkpoints', 'CheckpointTrustHook', 'FiniteLossHook', 'NonFiniteLossError',
           'ScaledOptimWrapperConstructor', 'longest_matching_key']
