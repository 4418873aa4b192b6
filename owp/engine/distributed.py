"""Distributed training and testing on CPU-only machines (gloo).

mmengine 0.10.7 cannot start ``--launcher pytorch`` (or ``slurm``) without CUDA:

* ``mmengine.dist.utils._init_dist_pytorch`` and ``_init_dist_slurm`` call
  ``torch.cuda.set_device(local_rank)`` unconditionally (a CPU build of torch
  raises ``AttributeError: module 'torch._C' has no attribute
  '_cuda_setDevice'``), and every OpenMMLab runtime config asks for
  ``dist_cfg=dict(backend='nccl')``, which needs CUDA;
* ``Runner.wrap_model`` builds ``MMDistributedDataParallel(module,
  device_ids=[LOCAL_RANK])``, which torch refuses for a module on the CPU
  ("device_ids ... only work with ... GPU modules").

:func:`install_cpu_dist_shim` (called when ``owp.engine`` is imported, so by
every owp config's ``custom_imports``) replaces those three places with
versions that behave exactly like mmengine's when CUDA is available, and
otherwise:

* initialise the process group without any CUDA call, with ``gloo`` when the
  config asks for ``nccl`` (gloo is the CPU backend; a logged warning says
  so; ``env_cfg.dist_cfg.backend='gloo'`` states it explicitly);
* wrap the model in DDP without ``device_ids`` (torch's way for CPU modules).

Everything else (samplers, ``reduce_mean``, gathering metric results) is
mmengine/torch code that already works with gloo.
"""
import logging
import os
import subprocess

import torch
import torch.distributed as torch_dist
from mmengine.dist import utils as dist_utils
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import runner as runner_module

__all__ = ['CPUDistributedDataParallel', 'cpu_backend', 'install_cpu_dist_shim']

# mmengine's own functions (also when this module is imported again after the
# shim was installed, e.g. by importlib.reload).
_ORIGINAL = dict(pytorch=getattr(dist_utils._init_dist_pytorch, '__wrapped__',
                                 dist_utils._init_dist_pytorch),
                 slurm=getattr(dist_utils._init_dist_slurm, '__wrapped__',
                               dist_utils._init_dist_slurm))


def _cuda_available() -> bool:
    return torch.cuda.is_available()


def cpu_backend(backend: str) -> str:
    """The process-group backend to use on a machine without CUDA.

    Args:
        backend (str): ``env_cfg.dist_cfg.backend`` of the config.

    Returns:
        str: ``'gloo'`` for ``'nccl'`` (with a warning), else ``backend``.
    """
    if backend == 'nccl':
        print_log("owp: CUDA is not available, using the 'gloo' process-group backend instead "
                  "of the config's 'nccl' (set env_cfg.dist_cfg.backend='gloo' to say so in "
                  'the config)', logger='current', level=logging.WARNING)
        return 'gloo'
    return backend


def _check_init_backend(init_backend: str) -> None:
    if init_backend != 'torch':
        raise ValueError(f'owp: env_cfg.dist_cfg.init_backend={init_backend!r} needs CUDA; '
                         "without CUDA only 'torch' is supported")


def _init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
    """``mmengine.dist.utils._init_dist_pytorch`` without CUDA calls on a CPU machine."""
    if _cuda_available():
        return _ORIGINAL['pytorch'](backend, init_backend=init_backend, **kwargs)
    _check_init_backend(init_backend)
    # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR/PORT: the env:// default reads them.
    torch_dist.init_process_group(backend=cpu_backend(backend), **kwargs)


def _init_dist_slurm(backend, port=None, init_backend='torch', **kwargs) -> None:
    """``mmengine.dist.utils._init_dist_slurm`` without CUDA calls on a CPU machine.

    Sets the same environment variables as mmengine from ``SLURM_PROCID``,
    ``SLURM_NTASKS``, ``SLURM_NODELIST`` and ``SLURM_LOCALID`` (``MASTER_ADDR``
    from ``scontrol`` unless already set; ``MASTER_PORT`` from ``port``, the
    environment, else 29500).
    """
    if _cuda_available():
        return _ORIGINAL['slurm'](backend, port=port, init_backend=init_backend, **kwargs)
    _check_init_backend(init_backend)
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ['RANK'] = str(proc_id)
    torch_dist.init_process_group(backend=cpu_backend(backend), **kwargs)


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps a model living on the CPU.

    mmengine's runner always passes ``device_ids=[LOCAL_RANK]``; torch accepts
    device ids only for GPU modules. Without CUDA they are dropped (DDP then
    works on the module's own device, the CPU); otherwise nothing changes.
    """

    def __init__(self, module, detect_anomalous_params: bool = False, **kwargs) -> None:
        if not _cuda_available():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, detect_anomalous_params=detect_anomalous_params,
                         **kwargs)


def install_cpu_dist_shim() -> None:
    """Install the CPU fallbacks into mmengine (idempotent; see the module doc).

    ``init_dist`` looks ``_init_dist_pytorch`` / ``_init_dist_slurm`` up in its
    module at call time, and ``Runner.wrap_model`` looks up
    ``MMDistributedDataParallel`` in ``mmengine.runner.runner``: those three
    names are rebound. Each replacement defers to mmengine's original whenever
    ``torch.cuda.is_available()``.
    """
    _init_dist_pytorch.__wrapped__ = _ORIGINAL['pytorch']
    _init_dist_slurm.__wrapped__ = _ORIGINAL['slurm']
    dist_utils._init_dist_pytorch = _init_dist_pytorch
    dist_utils._init_dist_slurm = _init_dist_slurm
    runner_module.MMDistributedDataParallel = CPUDistributedDataParallel
