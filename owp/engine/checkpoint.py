"""Checkpoint loading on torch >= 2.6.

mmengine 0.10.7 loads local checkpoints with a bare ``torch.load(filename,
map_location=...)``. Since torch 2.6 the default is ``weights_only=True``, which
refuses the pickled objects mmengine itself writes into every checkpoint
(``HistoryBuffer`` in ``message_hub``, numpy scalars in ``meta``), so ``resume``
and ``load_from`` fail with an ``UnpicklingError``.

Importing ``owp`` (which every config does through ``custom_imports``)
re-registers mmengine's local-file loader with ``weights_only=False``. That is
the same trust model mmengine had before torch 2.6: checkpoints are code, load
only ones you trust.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = ['load_from_local_trusted']


def load_from_local_trusted(filename, map_location=None):
    """Load a local mmengine checkpoint, allowing the objects mmengine pickles.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | torch.device | None): Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` is not a file (the message names it).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


# Side effect: replaces mmengine's default ('' prefix = local path) loader.
CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_trusted, force=True)
