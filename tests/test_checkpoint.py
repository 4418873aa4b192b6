"""Checkpoints load without running code (owp.engine.checkpoint), unless the user opts in.

A payload checkpoint is a valid checkpoint whose pickle would create a marker file
when loaded: each entry point must refuse it with an error naming the object and
the opt-in, and leave no marker. Real checkpoints (owp's own, stock mmdet 3.x and
2.x FCOS layouts) must still load.
"""
import os.path as osp
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from conftest import CONFIGS, SHAPES_ROOT_CONFIG, cfg_options_for, point_config_at, shrink_images
from mmengine.config import Config
from mmengine.logging import HistoryBuffer

import owp.engine  # noqa: F401  (installs the safe loader)
from owp.engine import (
    TRUST_ENV_VAR,
    UntrustedCheckpointError,
    checkpoints_trusted,
    load_from_local_safe,
    trusted_checkpoints,
)

FINETUNE_CONFIG = osp.join(CONFIGS, 'shapes',
                           'fcos-owp-iou-cs-is-finetune_r18-tiny_fpn_1k_shapes.py')


class _Touch:
    """Unpickling this calls ``open(path, 'w')``: the marker file appears."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


class _Getattr:
    """Unpickling this calls ``getattr(obj, name)``."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.fixture(autouse=True)
def _no_env_trust(monkeypatch):
    monkeypatch.delenv(TRUST_ENV_VAR, raising=False)


def _build(cfg_model):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(cfg_model)


def _train(cfg, data_root, work_dir, iters=1):
    from mmengine.runner import Runner
    shrink_images(point_config_at(cfg, data_root, work_dir=work_dir, max_iters=iters))
    cfg.default_hooks.checkpoint.update(interval=iters, save_best='novel/AR@100', rule='greater')
    Runner.from_cfg(cfg).train()


@pytest.fixture(scope='module')
def owp_ckpt(tiny_shapes, tmp_path_factory):
    """A checkpoint written by mmengine's runner for owp's root shapes config (val + best)."""
    work = tmp_path_factory.mktemp('owp_ckpt')
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    _train(cfg, tiny_shapes, work)
    return work / 'iter_1.pth'


@pytest.fixture(scope='module')
def stock_ckpt(tiny_shapes, tmp_path_factory):
    """An mmdet 3.x checkpoint of stock ``FCOSHead`` (no owp module in the model)."""
    work = tmp_path_factory.mktemp('stock_ckpt')
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    head = cfg.model.bbox_head
    head.type = 'FCOSHead'
    for key in ('objectness_branches', 'objectness_sampling', 'loss_iou'):
        head.pop(key)
    cfg.model.test_cfg.pop('score_mode')
    _train(cfg, tiny_shapes, work)
    return work / 'iter_1.pth'


@pytest.fixture
def payload_ckpt(tmp_path):
    """A loadable owp model checkpoint that creates ``marker`` when unpickled."""
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    state = _build(cfg.model).state_dict()
    marker = tmp_path / 'marker'
    path = tmp_path / 'payload.pth'
    torch.save({'meta': {'note': _Touch(marker)}, 'state_dict': state}, path)
    return path, marker


def _refused(excinfo, path):
    msg = str(excinfo.value)
    assert str(path) in msg and 'open' in msg  # names the file and the object
    assert TRUST_ENV_VAR in msg and 'trust_checkpoints' in msg  # and the opt-in
    return msg


def test_payload_refused_by_mmengine_load_checkpoint(payload_ckpt):
    """What `load_from`, `init_detector` and `Pretrained` init call."""
    from mmengine.runner import load_checkpoint
    path, marker = payload_ckpt
    model = _build(Config.fromfile(SHAPES_ROOT_CONFIG).model)
    with pytest.raises(UntrustedCheckpointError) as e:
        load_checkpoint(model, str(path), map_location='cpu')
    _refused(e, path)
    assert not marker.exists()


def test_payload_refused_by_eval_novel_model_mode(payload_ckpt, tiny_shapes, tmp_path):
    from owp.tools.eval_novel import main
    path, marker = payload_ckpt
    with pytest.raises(UntrustedCheckpointError) as e:
        main([SHAPES_ROOT_CONFIG, str(path), '--work-dir', str(tmp_path / 'w'),
              '--cfg-options', *cfg_options_for(SHAPES_ROOT_CONFIG, tiny_shapes)])
    _refused(e, path)
    assert not marker.exists()


def test_payload_refused_by_objectness_maps(payload_ckpt, tiny_shapes, tmp_path):
    import glob
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'objectness_maps_script', osp.join(osp.dirname(CONFIGS), 'scripts',
                                           'objectness_maps.py'))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    path, marker = payload_ckpt
    image = sorted(glob.glob(osp.join(tiny_shapes, 'val', '*')))[0]
    with pytest.raises(UntrustedCheckpointError) as e:
        script.main([SHAPES_ROOT_CONFIG, str(path), image, '--out', str(tmp_path / 'm.png')])
    _refused(e, path)
    assert not marker.exists()


def test_payload_refused_by_finetune_load_from_and_resume(payload_ckpt, tiny_shapes, tmp_path):
    from mmengine.runner import Runner
    path, marker = payload_ckpt
    cfg = Config.fromfile(FINETUNE_CONFIG)
    shrink_images(point_config_at(cfg, tiny_shapes, work_dir=tmp_path / 'ft', max_iters=1))
    cfg.load_from = str(path)
    with pytest.raises(UntrustedCheckpointError):
        Runner.from_cfg(cfg).train()
    assert not marker.exists()
    # resume: the payload is the work dir's last checkpoint
    work = tmp_path / 'resume'
    work.mkdir()
    (work / 'last_checkpoint').write_text(str(path))
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    shrink_images(point_config_at(cfg, tiny_shapes, work_dir=work, max_iters=1))
    cfg.resume = True
    with pytest.raises(UntrustedCheckpointError):
        Runner.from_cfg(cfg).train()
    assert not marker.exists()


def test_opt_in_by_environment_variable(payload_ckpt, monkeypatch):
    from mmengine.runner import load_checkpoint
    path, marker = payload_ckpt
    model = _build(Config.fromfile(SHAPES_ROOT_CONFIG).model)
    monkeypatch.setenv(TRUST_ENV_VAR, '0')
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint(model, str(path))
    assert not marker.exists()
    monkeypatch.setenv(TRUST_ENV_VAR, 'maybe')
    with pytest.raises(ValueError, match=TRUST_ENV_VAR):
        load_checkpoint(model, str(path))
    monkeypatch.setenv(TRUST_ENV_VAR, '1')
    load_checkpoint(model, str(path))
    assert marker.exists()


def test_opt_in_by_config_key_is_scoped_to_that_runner(payload_ckpt, tiny_shapes, tmp_path):
    from mmengine.runner import load_checkpoint

    from owp.tools.eval_novel import main
    path, marker = payload_ckpt
    opts = cfg_options_for(SHAPES_ROOT_CONFIG, tiny_shapes)
    with pytest.raises(TypeError, match='trust_checkpoints'):
        main([SHAPES_ROOT_CONFIG, str(path), '--work-dir', str(tmp_path / 'w'),
              '--cfg-options', *opts, 'trust_checkpoints=yes'])
    assert not marker.exists()
    assert main([SHAPES_ROOT_CONFIG, str(path), '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *opts, 'trust_checkpoints=True']) == 0
    assert marker.exists()
    marker.unlink()
    # the trust ended with that runner's load
    assert not checkpoints_trusted()
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint(_build(Config.fromfile(SHAPES_ROOT_CONFIG).model), str(path))
    assert not marker.exists()


def test_trusted_checkpoints_context(payload_ckpt):
    path, marker = payload_ckpt
    with trusted_checkpoints():
        load_from_local_safe(str(path))
    assert marker.exists() and not checkpoints_trusted()
    with pytest.raises(TypeError):
        with trusted_checkpoints('yes'):
            pass


def test_getattr_answers_only_history_buffer_statistics(tmp_path):
    """mmengine pickles HistoryBuffer.mean as getattr(HistoryBuffer, 'mean'): only that."""
    ok = tmp_path / 'ok.pth'
    torch.save({'m': _Getattr(HistoryBuffer, 'mean')}, ok)
    assert load_from_local_safe(str(ok))['m'] is HistoryBuffer.mean
    empty = tmp_path / 'empty.pth'  # an empty HistoryBuffer pickles bytes()
    torch.save({'message_hub': HistoryBuffer()}, empty)
    assert load_from_local_safe(str(empty))['message_hub'].data[0].size == 0
    for obj, name in ((np.ndarray, 'tofile'), (HistoryBuffer, '__init__'),
                      (HistoryBuffer, '_statistics_methods'), (HistoryBuffer, 'nope')):
        bad = tmp_path / f'bad_{name}.pth'
        torch.save({'m': _Getattr(obj, name)}, bad)
        with pytest.raises(UntrustedCheckpointError, match=str(bad)):
            load_from_local_safe(str(bad))


def test_owp_checkpoint_loads_and_resumes(owp_ckpt, tiny_shapes, tmp_path):
    """A runner-written checkpoint (message hub, numpy, best score) loads safely."""
    from mmengine.runner import Runner
    ckpt = load_from_local_safe(str(owp_ckpt))
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert 'best_score' in ckpt['message_hub']['runtime_info']
    with pytest.raises(pickle.UnpicklingError):  # torch alone refuses it
        torch.load(owp_ckpt, weights_only=True)
    # resume from it (finetuning from a runner-written file: tests/test_train.py)
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    shrink_images(point_config_at(cfg, tiny_shapes, work_dir=tmp_path / 'r', max_iters=2))
    cfg.train_cfg.val_interval = 100
    cfg.load_from, cfg.resume = str(owp_ckpt), True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2


def test_stock_mmdet3_fcos_checkpoint_loads(stock_ckpt, tiny_shapes, tmp_path):
    """A checkpoint of mmdet's own FCOSHead: load_from into owp, and eval_novel model mode."""
    from owp.tools.eval_novel import main
    ckpt = load_from_local_safe(str(stock_ckpt))
    assert 'conv_centerness.weight' in ' '.join(ckpt['state_dict'])
    # as mmdet's tools/model_converters/publish_model.py writes model-zoo files
    published = tmp_path / 'published.pth'
    torch.save({k: ckpt[k] for k in ('meta', 'state_dict')}, published,
               _use_new_zipfile_serialization=False)
    assert load_from_local_safe(str(published))['meta'] == ckpt['meta']
    assert main([SHAPES_ROOT_CONFIG, str(stock_ckpt), '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *cfg_options_for(SHAPES_ROOT_CONFIG, tiny_shapes)]) == 0


def _mmdet2_checkpoint(state_dict):
    """The layout mmcv 1.x / mmdet 2.x wrote (meta, state_dict, optimizer)."""
    classes = ('ellipse', 'rectangle', 'triangle', 'cross')
    meta = dict(env_info='sys.platform: linux', config='model = dict(...)', seed=0,
                exp_name='fcos_r50_caffe_fpn_gn-head_1x_coco.py', mmdet_version='2.28.2',
                CLASSES=classes, epoch=12, iter=87960, mmcv_version='1.7.1',
                time='Mon Jan  2 00:00:00 2023',
                hook_msgs=dict(last_ckpt='work_dirs/fcos/epoch_12.pth',
                               best_score=np.float64(0.386), best_ckpt='best_bbox_mAP.pth'),
                PALETTE=np.array([[220, 20, 60]] * 4, dtype=np.uint8))
    return dict(meta=meta, state_dict=OrderedDict(state_dict),
                optimizer=dict(state={}, param_groups=[dict(lr=0.01, momentum=0.9,
                                                            params=[0, 1])]))


def test_stock_mmdet2_layouts_load(stock_ckpt, tmp_path):
    """mmdet 2.x files: zip and legacy (torch < 1.6) formats, numpy 1.x global names."""
    from mmengine.runner import load_checkpoint
    state = load_from_local_safe(str(stock_ckpt))['state_dict']
    model = _build(Config.fromfile(SHAPES_ROOT_CONFIG).model)
    for name, kw in (('zip', {}), ('legacy', dict(_use_new_zipfile_serialization=False))):
        path = tmp_path / f'mmdet2_{name}.pth'
        torch.save(_mmdet2_checkpoint(state), path, **kw)
        got = load_checkpoint(model, str(path), map_location='cpu', strict=True)
        assert got['meta']['hook_msgs']['best_score'] == pytest.approx(0.386)
        for k, v in model.state_dict().items():
            assert torch.equal(v, state[k]), k
    # a file written under numpy 1.x names numpy.core.multiarray (numpy 2: numpy._core)
    raw = (tmp_path / 'mmdet2_legacy.pth').read_bytes()
    assert b'numpy._core.multiarray' in raw
    old = tmp_path / 'mmdet2_numpy1.pth'
    old.write_bytes(raw.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    meta = load_from_local_safe(str(old))['meta']
    assert meta['PALETTE'].dtype == np.uint8 and meta['hook_msgs']['best_score'] == 0.386


def test_user_allowlist_is_left_as_it_was(owp_ckpt):
    before = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals([np.ndarray])
    try:
        load_from_local_safe(str(owp_ckpt))
        assert np.ndarray in torch.serialization.get_safe_globals()
        assert HistoryBuffer not in torch.serialization.get_safe_globals()
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(before)


def test_legacy_format_payload_refused_naming_the_object(tmp_path):
    """torch < 1.6 files (no zip): the object is named from torch's own refusal."""
    marker = tmp_path / 'marker'
    path = tmp_path / 'legacy.pth'
    torch.save({'w': torch.zeros(2), 'x': _Touch(marker)}, path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UntrustedCheckpointError, match=r"needs (io|builtins)\.open") as e:
        load_from_local_safe(str(path))
    _refused(e, path)
    assert not marker.exists()
