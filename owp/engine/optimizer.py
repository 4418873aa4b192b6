"""An optimizer constructor whose per-module lr multipliers compose with mmengine's rules."""
from typing import Dict, Optional

import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

__all__ = ['ScaledOptimWrapperConstructor', 'longest_matching_key']


def longest_matching_key(name: str, keys) -> Optional[str]:
    """The longest of ``keys`` contained in the parameter ``name`` (mmengine's rule), or None."""
    hits = [k for k in keys if k in name]
    return max(hits, key=len) if hits else None


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ScaledOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's constructor plus ``paramwise_cfg.scale_keys``.

    mmengine's ``custom_keys`` *replace* the bias and norm rules
    (``bias_lr_mult``, ``bias_decay_mult``, ...) for the parameters they match,
    so "train this branch at 0.1x" written with them silently gives its biases
    decay and drops their 2x lr. ``scale_keys`` *multiply* whatever every other
    rule gave a parameter instead::

        optim_wrapper = dict(
            constructor='ScaledOptimWrapperConstructor',
            paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.,
                               scale_keys={'bbox_head.conv_reg': dict(lr_mult=0.1)}))

    A parameter whose full name contains a key (the longest key wins, as in
    mmengine) gets ``lr *= lr_mult`` and ``weight_decay *= decay_mult`` (both
    default 1). ``lr_mult=0, decay_mult=0`` freezes it: no update from SGD,
    momentum or decay, and, unlike ``requires_grad=False`` set after the model
    is built, safe under DDP.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        scale_keys = dict(paramwise_cfg.pop('scale_keys', None) or {})
        for key, rule in scale_keys.items():
            if not isinstance(rule, dict) or not set(rule) <= {'lr_mult', 'decay_mult'}:
                raise ValueError(f'paramwise_cfg.scale_keys[{key!r}] must be a dict of '
                                 f"'lr_mult' and/or 'decay_mult', got {rule!r}")
            for k, v in rule.items():
                if not isinstance(v, (int, float)) or v < 0:
                    raise ValueError(f'paramwise_cfg.scale_keys[{key!r}].{k} must be a '
                                     f'number >= 0, got {v!r}')
        if scale_keys and not paramwise_cfg:
            paramwise_cfg = dict(custom_keys={})  # one group per parameter
        self.scale_keys: Dict[str, dict] = scale_keys
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        optim_wrapper = super().__call__(model)
        if not self.scale_keys:
            return optim_wrapper
        module = model.module if hasattr(model, 'module') else model
        names = {id(p): n for n, p in module.named_parameters()}
        counts = dict.fromkeys(self.scale_keys, 0)
        for group in optim_wrapper.optimizer.param_groups:
            assert len(group['params']) == 1  # add_params makes one group per parameter
            key = longest_matching_key(names[id(group['params'][0])], self.scale_keys)
            if key is None:
                continue
            rule = self.scale_keys[key]
            group['lr'] *= rule.get('lr_mult', 1.)
            group['weight_decay'] *= rule.get('decay_mult', 1.)
            counts[key] += 1
        unused = [k for k, c in counts.items() if c == 0]
        if unused:
            raise ValueError(f'paramwise_cfg.scale_keys {unused} match no parameter of the '
                             f'model (keys are substrings of names like '
                             f'{next(iter(names.values()))!r})')
        for key, c in counts.items():
            print_log(f'scale_keys: {key!r} {self.scale_keys[key]} on {c} parameters',
                      logger=MMLogger.get_current_instance())
        return optim_wrapper
