# Importing checkpoint has a side effect: it makes mmengine's local checkpoint
# loader work on torch >= 2.6 (see owp/engine/checkpoint.py).
from .checkpoint import load_from_local_trusted
from .optimizer import ScaledOptimWrapperConstructor, longest_matching_key

__all__ = ['load_from_local_trusted', 'ScaledOptimWrapperConstructor', 'longest_matching_key']
