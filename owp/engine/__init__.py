# Importing checkpoint has a side effect: mmengine's local checkpoint loader
# becomes owp's safe one (weights_only=True plus mmengine's own objects; see
# owp/engine/checkpoint.py). Importing hooks registers owp's hooks in HOOKS.
from .checkpoint import (
                         TRUST_CFG_KEY,
                         TRUST_ENV_VAR,
                         UntrustedCheckpointError,
                         checkpoints_trusted,
                         load_from_local_safe,
                         load_from_local_trusted,
                         mmengine_safe_globals,
                         trusted_checkpoints,
)
from .distributed import CPUDistributedDataParallel, cpu_backend, install_cpu_dist_shim
from .hooks import CheckpointTrustHook, FiniteLossHook, NonFiniteLossError, SyncBuffersIterHook
from .optimizer import ScaledOptimWrapperConstructor, longest_matching_key

# Side effect: lets `--launcher pytorch|slurm` run on machines without CUDA
# (gloo, no CUDA call; mmengine's own code whenever CUDA is available), see
# owp/engine/distributed.py.
install_cpu_dist_shim()

__all__ = ['TRUST_CFG_KEY', 'TRUST_ENV_VAR', 'UntrustedCheckpointError', 'checkpoints_trusted',
           'load_from_local_safe', 'load_from_local_trusted', 'mmengine_safe_globals',
           'trusted_checkpoints', 'CheckpointTrustHook', 'FiniteLossHook', 'NonFiniteLossError',
           'CPUDistributedDataParallel', 'cpu_backend', 'install_cpu_dist_shim',
           'ScaledOptimWrapperConstructor', 'longest_matching_key', 'SyncBuffersIterHook']
