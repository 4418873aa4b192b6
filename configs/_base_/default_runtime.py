# Runtime shared by every owp config: mmdet's runtime plus the owp registry import.
_base_ = 'mmdet::_base_/default_runtime.py'

# owp.registration registers OWPFCOSHead, OWPRecallMetric, ... and fixes checkpoint
# loading on torch >= 2.6. Works under `mim train mmdet CONFIG` (owp is an installed
# package). `import owp` alone registers nothing (it stays light for results mode).
custom_imports = dict(imports=['owp.registration'], allow_failed_imports=False)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
