# Runtime shared by every owp config: mmdet's runtime plus the owp registry import.
_base_ = 'mmdet::_base_/default_runtime.py'

# owp.registration registers OWPFCOSHead, OWPRecallMetric, owp's hooks, ... and installs
# the safe checkpoint loader and the CPU DDP shim. Works under `mim train mmdet CONFIG` (owp is an installed
# package). `import owp` alone registers nothing (it stays light for results mode).
custom_imports = dict(imports=['owp.registration'], allow_failed_imports=False)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)

# A fixed seed: runs repeat (up to thread/device nondeterminism, see README) and
# `resume` continues exactly. With seed=None mmengine draws a seed, and on resume
# re-seeds from the checkpoint only after the data loader was built, so the data
# order after a resume would be a new draw. Vary it for seed studies.
randomness = dict(seed=0)

# Checkpoints load without running code from them (owp/engine/checkpoint.py).
# True declares that the files of `load_from` / `resume` are trusted
# (weights_only=False); the environment variable OWP_TRUST_CHECKPOINTS=1 does
# the same for every load in the process. Read by CheckpointTrustHook below.
trust_checkpoints = False
# In default_hooks (a dict, merged by key) so that a config setting its own
# custom_hooks list keeps them. FiniteLossHook stops training at a NaN/inf loss
# before it reaches a checkpoint; its interval is in iterations. Under DDP,
# SyncBuffersIterHook keeps every rank's BatchNorm statistics equal (so validation
# runs the model the checkpoint holds); a no-op in one process.
default_hooks = dict(
    checkpoint_trust=dict(type='CheckpointTrustHook'),
    finite_loss=dict(type='FiniteLossHook', interval=1),
    sync_buffers_iter=dict(type='SyncBuffersIterHook'))
