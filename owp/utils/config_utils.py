"""Small helpers for moving configs between data locations."""
from typing import List, Optional, Tuple

from mmengine.config import Config

__all__ = ['set_data_root', 'data_root_cfg_options', 'proposal_test_cfg']

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_EVALUATORS = ('val_evaluator', 'test_evaluator')


def _evaluators(cfg: Config, key: str) -> list:
    ev = cfg.get(key)
    if ev is None:
        return []
    return list(ev) if isinstance(ev, (list, tuple)) else [ev]


def _moves(cfg: Config, data_root: str) -> List[tuple]:
    """(dotted key, new value) pairs that point every dataset/evaluator at data_root."""
    if not data_root.endswith('/'):
        data_root += '/'
    moves = []
    for key in _LOADERS:
        loader = cfg.get(key)
        if loader is None:
            continue
        old = loader.dataset.get('data_root', '') or ''
        moves.append((f'{key}.dataset.data_root', data_root))
        for i, ev in enumerate(_evaluators(cfg, key.replace('dataloader', 'evaluator'))):
            ann = ev.get('ann_file')
            if ann and old and ann.startswith(old):
                name = f'{key.replace("dataloader", "evaluator")}'
                name += f'.{i}' if isinstance(cfg.get(name), (list, tuple)) else ''
                moves.append((f'{name}.ann_file', data_root + ann[len(old):]))
    return moves


def set_data_root(cfg: Config, data_root: str) -> Config:
    """Point every dataloader and evaluator annotation file of ``cfg`` at ``data_root``.

    ``data_root`` replaces each dataset's ``data_root``; evaluator ``ann_file``
    paths that started with the old root are moved along. Works in place and
    returns ``cfg``.
    """
    for key, value in _moves(cfg, data_root):
        parts = key.split('.')
        node = cfg
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node[p]
        node[parts[-1]] = value
    return cfg


def data_root_cfg_options(cfg: Config, data_root: str) -> List[str]:
    """:func:`set_data_root` as ``--cfg-options`` words for ``mim train``."""
    return [f'{k}={v}' for k, v in _moves(cfg, data_root)]


def proposal_test_cfg(model_cfg: dict) -> Tuple[Optional[dict], str]:
    """The ``test_cfg`` block that decides a model's final boxes, and its dotted name.

    ``test_cfg.rcnn`` of a two-stage model (``roi_head``), ``test_cfg.rpn`` of an
    RPN detector (``rpn_head`` alone), else ``test_cfg`` (one-stage heads, e.g.
    ``OWPFCOSHead``): where ``max_per_img`` and ``score_mode`` live.

    Args:
        model_cfg: The ``model`` field of a config.

    Returns:
        tuple: the block (None if the model has none) and e.g. ``'model.test_cfg.rcnn'``.
    """
    test_cfg = model_cfg.get('test_cfg')
    key = ('rcnn' if model_cfg.get('roi_head') is not None
           else 'rpn' if model_cfg.get('rpn_head') is not None else None)
    if key is None:
        return test_cfg, 'model.test_cfg'
    return (None if test_cfg is None else test_cfg.get(key)), f'model.test_cfg.{key}'
