"""Checkpoint loading that never runs code from the file unless the user trusts it.

mmengine 0.10.7 loads local checkpoints with a bare ``torch.load(filename,
map_location=...)``. Since torch 2.6 that means ``weights_only=True``, which is
safe but refuses the Python objects mmengine itself pickles into every training
checkpoint, so ``resume`` and ``load_from`` of mmengine's own files fail with an
``UnpicklingError``.

Importing ``owp.engine`` re-registers mmengine's local-file loader (the ``''``
prefix of ``CheckpointLoader``) with :func:`load_from_local_safe`: torch's
weights-only unpickler, with exactly the globals listed by
:func:`mmengine_safe_globals` allowed. Those are what mmengine 0.10.7 writes:
``HistoryBuffer`` objects in ``message_hub``, numpy arrays, scalars and dtypes
inside them (and in ``meta``), and the four statistics methods a
``HistoryBuffer`` pickles by reference (``getattr(HistoryBuffer, 'mean')``);
``getattr`` itself stays forbidden, only those four look-ups are answered.
Everything else a checkpoint may hold (tensors, dicts, lists, ``OrderedDict``,
``Counter``, numbers, strings) is allowed by torch already.

A file that needs any other global is refused with :class:`UntrustedCheckpointError`,
naming the globals. For a file you trust, opt in explicitly with either

* the environment variable ``OWP_TRUST_CHECKPOINTS=1`` (every load in the process), or
* the config key ``trust_checkpoints = True`` (the runner's ``load_from`` and
  ``resume`` only; honoured by :class:`~owp.engine.hooks.CheckpointTrustHook`,
  which owp's default runtime registers), or
* the context manager :func:`trusted_checkpoints` in your own code.

Both switches are off by default.
"""
import contextlib
import contextvars
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Iterator, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = ['TRUST_ENV_VAR', 'TRUST_CFG_KEY', 'UntrustedCheckpointError',
           'mmengine_safe_globals', 'checkpoints_trusted', 'trusted_checkpoints',
           'load_from_local_safe', 'load_from_local_trusted']

TRUST_ENV_VAR = 'OWP_TRUST_CHECKPOINTS'
TRUST_CFG_KEY = 'trust_checkpoints'

_TRUE = ('1', 'true', 'yes', 'on')
_FALSE = ('', '0', 'false', 'no', 'off')

# Set by `trusted_checkpoints()`; a ContextVar so that the opt-in of one runner
# (CheckpointTrustHook) never leaks into another thread or a later load.
_trusted = contextvars.ContextVar('owp_trusted_checkpoints', default=False)


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs a Python object that owp does not load without the user's trust."""


def _history_buffer_method(obj, name):
    """``getattr`` restricted to the statistics methods a ``HistoryBuffer`` pickles.

    ``HistoryBuffer.__getstate__`` stores ``{'mean': HistoryBuffer.mean, ...}``,
    which pickle writes as ``getattr(HistoryBuffer, 'mean')``. This function
    stands in for ``builtins.getattr`` while unpickling and answers only those
    look-ups (methods defined on ``HistoryBuffer`` itself).
    """
    value = HistoryBuffer.__dict__.get(name) if obj is HistoryBuffer else None
    if value is None or not callable(value) or name.startswith('_'):
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({obj!r}, {name!r}); owp only allows '
            'the statistics methods of mmengine HistoryBuffer')
    return getattr(HistoryBuffer, name)


def mmengine_safe_globals() -> List:
    """The globals, beyond torch's defaults, that mmengine writes into its checkpoints.

    Found by saving real checkpoints with mmengine's ``Runner`` (with validation
    and ``save_best``) and listing what
    ``torch.serialization.get_unsafe_globals_in_checkpoint`` reports, plus
    ``bytes``, which an empty ``HistoryBuffer`` (an empty numpy array) needs. numpy
    moved ``numpy.core`` to ``numpy._core`` in 2.0; files written by either are
    accepted.

    Returns:
        list: Entries for :func:`torch.serialization.safe_globals` (objects, or
        ``(object, 'module.name')`` pairs).
    """
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    entries = [
        HistoryBuffer,
        bytes,  # pickle protocol 2 writes b'' (the data of an empty array) as bytes()
        np.ndarray,
        np.dtype,
        (multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (_history_buffer_method, 'builtins.getattr'),
    ]
    # numpy >= 1.25 may pickle a dtype through its class (numpy.dtypes.Float64DType).
    dtypes = getattr(np, 'dtypes', None)
    for name in ('Bool', 'Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32',
                 'UInt64', 'Float16', 'Float32', 'Float64', 'LongLong', 'ULongLong'):
        cls = getattr(dtypes, f'{name}DType', None)
        if cls is not None:
            entries.append(cls)
    return entries


def _safe_global_names() -> set:
    names = set()
    for entry in mmengine_safe_globals():
        names.add(entry[1] if isinstance(entry, tuple)
                  else f'{entry.__module__}.{entry.__qualname__}')
    return names


def _env_trust() -> bool:
    value = os.environ.get(TRUST_ENV_VAR, '').strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'environment variable {TRUST_ENV_VAR}={os.environ[TRUST_ENV_VAR]!r}: '
                     f'expected one of {_TRUE + _FALSE[1:]}')


def checkpoints_trusted() -> bool:
    """Whether checkpoints may run code when loaded here and now.

    True inside :func:`trusted_checkpoints` or with ``OWP_TRUST_CHECKPOINTS=1``.

    Raises:
        ValueError: If ``OWP_TRUST_CHECKPOINTS`` holds something other than a
            boolean word (``1/0, true/false, yes/no, on/off``).
    """
    return _trusted.get() or _env_trust()


@contextlib.contextmanager
def trusted_checkpoints(enabled: bool = True) -> Iterator[None]:
    """Trust (``enabled=True``) every checkpoint loaded inside the ``with`` block.

    Args:
        enabled (bool): Must be a bool; ``False`` leaves the current trust as is.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f'{TRUST_CFG_KEY} must be True or False, got {enabled!r}')
    token = _trusted.set(_trusted.get() or enabled)
    try:
        yield
    finally:
        _trusted.reset(token)


def _refusal(filename: str, err: Exception) -> str:
    """The error message for a checkpoint torch's safe unpickler refused."""
    text = str(err)
    found = re.search(r'WeightsUnpickler error:\s*(.*?)\s*(?:Check the documentation|$)', text,
                      re.S)
    reason = ' '.join((found.group(1) if found else text).split())
    try:  # zip files: every global the file names, not only the first one refused
        unsafe = [g for g in torch.serialization.get_unsafe_globals_in_checkpoint(filename)
                  if g not in _safe_global_names()]
    except (RuntimeError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError):
        unsafe = re.findall(r'GLOBAL (\S+) was not an allowed global', text)  # legacy format
    what = (f'needs {", ".join(unsafe)}, which only running code from the file can create'
            if unsafe else f'could not be loaded with torch weights_only=True: {reason}')
    return (f'checkpoint {filename!r} {what}. owp loads checkpoints without running code, '
            "allowing only the objects mmengine's own checkpoints hold "
            '(owp.engine.mmengine_safe_globals). If this is a checkpoint you trust, load it '
            f'with the environment variable {TRUST_ENV_VAR}=1, or with '
            f'`{TRUST_CFG_KEY} = True` in the config (the runner\'s load_from / resume).')


def _existing_file(filename: str) -> str:
    """``filename`` with ``~`` expanded; ``FileNotFoundError`` naming it if it is no file."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} can not be found.')
    return filename


def load_from_local_safe(filename: str, map_location=None) -> dict:
    """Load a local checkpoint without running code from it, unless trusted.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | torch.device | callable | None): As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` is not a file (the message names it).
        UntrustedCheckpointError: If the file needs a global outside
            :func:`mmengine_safe_globals` and checkpoints are not trusted
            (:func:`checkpoints_trusted`).
    """
    filename = _existing_file(filename)
    if checkpoints_trusted():
        return torch.load(filename, map_location=map_location, weights_only=False)
    # only what the user's own allowlist lacks: leaving the context removes these again
    ours = [g for g in mmengine_safe_globals() if g not in torch.serialization.get_safe_globals()]
    try:
        with torch.serialization.safe_globals(ours):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UntrustedCheckpointError(_refusal(filename, e)) from None


def load_from_local_trusted(filename: str, map_location=None) -> dict:
    """Load a local checkpoint that you trust: its pickle may run any code.

    owp never calls this itself; it is for user code that has decided to trust
    a file (the same as ``torch.load(filename, weights_only=False)``).

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | torch.device | callable | None): As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` is not a file (the message names it).
    """
    filename = _existing_file(filename)
    return torch.load(filename, map_location=map_location, weights_only=False)


# Side effect: replaces mmengine's default ('' prefix = local path) loader.
CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_safe, force=True)
