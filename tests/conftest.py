"""Shared fixtures: a tiny shapes dataset and config helpers.

Everything runs on CPU with tiny images so that the whole suite stays within a
few minutes on 2 cores.
"""
import contextlib
import logging
import os.path as osp
import warnings

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')
SHAPES_ROOT_CONFIG = osp.join(CONFIGS, 'shapes', 'fcos_r18-tiny_fpn_1k_shapes.py')

# mmengine imports pkg_resources, which warns on every import in setuptools 80.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')


def tiny_shapes_config(**overrides):
    """A ShapesConfig small enough for unit tests (64x64 images)."""
    from owp.datasets.shapes import ShapesConfig
    kw = dict(num_train=12, num_val=6, img_size=(64, 64), min_objects=2, max_objects=5,
              min_size=6, max_size=30, seed=0)
    kw.update(overrides)
    return ShapesConfig(**kw)


@pytest.fixture(scope='session')
def tiny_shapes(tmp_path_factory):
    """Path (str, with trailing slash) of a tiny generated shapes dataset."""
    from owp.datasets.shapes import generate_shapes
    root = tmp_path_factory.mktemp('shapes')
    generate_shapes(str(root), tiny_shapes_config())
    return str(root) + '/'


def point_config_at(cfg, data_root, work_dir=None, max_iters=None):
    """Point a shapes config at ``data_root`` with tiny loaders (in place)."""
    from owp.utils import set_data_root
    set_data_root(cfg, data_root)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
        cfg[key].batch_size = 2
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    if max_iters is not None:
        cfg.train_cfg.max_iters = max_iters
        cfg.train_cfg.val_interval = max_iters
    return cfg


def cfg_options_for(config_path, data_root):
    """:func:`point_config_at` (without iterations) as ``--cfg-options`` words."""
    from mmengine.config import Config

    from owp.utils import data_root_cfg_options
    opts = data_root_cfg_options(Config.fromfile(config_path), data_root)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{key}.num_workers=0', f'{key}.persistent_workers=False',
                 f'{key}.batch_size=2']
    return opts


def shrink_images(cfg, size=(64, 64)):
    """Resize to ``size`` in every pipeline of a shapes config (in place): faster tests."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for t in cfg[key].dataset.pipeline:
            if t.type == 'Resize':
                t.scale = size
    return cfg


@contextlib.contextmanager
def log_records():
    """What mmengine's current logger receives inside the block (a list of records)."""
    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
