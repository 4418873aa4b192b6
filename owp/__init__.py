"""owp: open-world proposals with one-stage FCOS detectors on MMDetection.

``import owp`` is light: it loads no torch, mmengine or mmdet, so that
results-file evaluation needs numpy only. Subpackages load on first use
(``owp.evaluation``, ``owp.models`` ...). Registering owp's modules in
MMDetection's registries is :mod:`owp.registration`'s job (configs import it
with ``custom_imports = dict(imports=['owp.registration'])``).
"""
from importlib import import_module

__version__ = '0.1.0'

#: Subpackages loaded on first attribute access (PEP 562).
_SUBPACKAGES = ('analysis', 'datasets', 'engine', 'evaluation', 'models', 'registration',
                'tools', 'utils')

__all__ = ['__version__']


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return import_module(f'.{name}', __name__)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
