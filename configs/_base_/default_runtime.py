# Runtime shared by every owp config: mmdet's runtime plus the owp registry import.
_base_ = 'mmdet::_base_/default_runtime.py'

# Registers OWPFCOSHead, OWPRecallMetric, ... and fixes checkpoint loading on
# torch >= 2.6. Works under `mim train mmdet CONFIG` (owp is an installed package).
custom_imports = dict(imports=['owp'], allow_failed_imports=False)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)

# Under DDP, every rank keeps the same BatchNorm statistics (so validation runs
# the model the checkpoint holds); a no-op in one process. See
# owp/engine/sync_buffers_hook.py.
custom_hooks = [dict(type='SyncBuffersIterHook')]
