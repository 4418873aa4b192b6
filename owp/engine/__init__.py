# Importing checkpoint has a side effect: it makes mmengine's local checkpoint
# loader work on torch >= 2.6 (see owp/engine/checkpoint.py).
from .checkpoint import load_from_local_trusted
from .distributed import CPUDistributedDataParallel, cpu_backend, install_cpu_dist_shim
from .optimizer import ScaledOptimWrapperConstructor, longest_matching_key
from .sync_buffers_hook import SyncBuffersIterHook

# Side effect: lets `--launcher pytorch|slurm` run on machines without CUDA
# (gloo, no CUDA call; mmengine's own code whenever CUDA is available), see
# owp/engine/distributed.py.
install_cpu_dist_shim()

__all__ = ['load_from_local_trusted', 'CPUDistributedDataParallel', 'cpu_backend',
           'install_cpu_dist_shim', 'ScaledOptimWrapperConstructor', 'longest_matching_key',
           'SyncBuffersIterHook']
