"""Every config file loads, builds, and runs one loss and one predict step."""
import ast
import glob
import os.path as osp

import pytest
import torch
from conftest import CONFIGS, REPO, SHAPES_ROOT_CONFIG
from mmengine.config import Config
from mmengine.registry import init_default_scope

CONFIG_FILES = sorted(p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
                      if '_base_' not in p.split(osp.sep))


# Thin experiment configs of the studies (experiments/<study>/*.py): sweep points on top
# of a config in configs/.
EXPERIMENT_CONFIGS = sorted(glob.glob(osp.join(REPO, 'experiments', '*', '*.py')))


def _null_init_cfg(cfg):
    """Recursively drop pretrained-weight init (nothing can be downloaded here)."""
    if isinstance(cfg, dict):
        if cfg.get('init_cfg', None) is not None and 'Pretrained' in str(cfg['init_cfg']):
            cfg['init_cfg'] = None
        for v in cfg.values():
            _null_init_cfg(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            _null_init_cfg(v)


def test_there_are_configs():
    assert len(CONFIG_FILES) >= 1
    assert SHAPES_ROOT_CONFIG in CONFIG_FILES


@pytest.mark.parametrize('path', CONFIG_FILES, ids=lambda p: osp.relpath(p, CONFIGS))
def test_config_builds_and_steps(path):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs

    import owp.registration  # noqa: F401  (what custom_imports does)
    from owp.utils import proposal_test_cfg

    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['owp.registration']
    ds = cfg.train_dataloader.dataset
    num_classes = cfg.num_classes if 'split' in ds else len(ds.metainfo.classes)
    final_cfg, _ = proposal_test_cfg(cfg.model)
    if 'bbox_head' in cfg.model:  # one-stage (FCOS)
        assert cfg.model.bbox_head.num_classes == num_classes
    elif 'roi_head' in cfg.model:  # OLN-Box: one 'object' class unless it classifies
        classifies = final_cfg.score_mode.startswith('logits')
        assert cfg.model.roi_head.bbox_head.num_classes == (num_classes if classifies else 1)
    else:  # an RPN alone: class-agnostic
        assert cfg.model.type == 'RPN'

    assert cfg.val_evaluator.split == cfg.owp_split
    _null_init_cfg(cfg.model)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    packed = demo_mm_inputs(batch_size=1, image_shapes=[(3, 96, 96)], num_items=[3],
                            num_classes=num_classes)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    # a loss is a tensor or, per FPN level, a list of them (RPN heads)
    total = sum(sum(x.sum() for x in (v if isinstance(v, list) else [v]))
                for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        results = model(**data, mode='predict')
    assert len(results) == 1
    pred = results[0].pred_instances
    assert pred.bboxes.shape[1] == 4
    assert len(pred) <= final_cfg.max_per_img


@pytest.mark.parametrize('name, base_classes', [
    ('shapes/fcos_r18-tiny_fpn_1k_shapes.py', 'SHAPES_BASE_CLASSES'),
    ('coco/fcos_r50_fpn_90k_coco-voc.py', 'COCO_VOC_BASE_CLASSES'),
    ('lvis/fcos_r50_fpn_90k_lvis-freq.py', None),
])
def test_dataset_bases_take_their_classes_from_the_split(name, base_classes):
    """One definition of each split: owp/datasets/splits.py, never a class list in a config."""
    from owp.datasets import splits
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[key].dataset
        assert ds.type.startswith('OWP') and ds.split == cfg.owp_split
        assert ds.subset == 'base' and 'classes' not in ds.get('metainfo', {})
    assert cfg.val_evaluator.split == cfg.test_evaluator.split == cfg.owp_split
    if base_classes is not None:
        assert cfg.num_classes == len(getattr(splits, base_classes))
    for key in ('base_classes', 'novel_classes'):
        assert key not in cfg


def test_shapes_dataset_classes_are_the_splits(tiny_shapes):
    from mmdet.registry import DATASETS

    import owp.registration  # noqa: F401
    from owp.datasets.splits import SHAPES_BASE_CLASSES
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    init_default_scope('mmdet')
    cfg.train_dataloader.dataset.data_root = tiny_shapes
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert ds.metainfo['classes'] == tuple(SHAPES_BASE_CLASSES) and len(ds) > 0
    labels = {i['bbox_label'] for d in ds.data_list for i in d['instances']}
    assert labels <= set(range(cfg.num_classes))


def test_paper_settings_on_real_data():
    for name in ('coco/fcos_r50_fpn_90k_coco-voc.py', 'lvis/fcos_r50_fpn_90k_lvis-freq.py'):
        cfg = Config.fromfile(osp.join(CONFIGS, name))
        assert cfg.train_cfg.max_iters == 90000
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.train_dataloader.batch_size * 8 == 16  # 8 GPUs x 2
        assert cfg.model.backbone.depth == 50
        assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
        assert cfg.model.test_cfg.nms_pre == 2000
    assert cfg.model.test_cfg.max_per_img == 300  # LVIS


def test_missing_dataset_path_names_the_path(tmp_path):
    from mmdet.registry import DATASETS

    import owp.registration  # noqa: F401

    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    init_default_scope('mmdet')
    missing = str(tmp_path / 'no-such-dir') + '/'
    cfg.train_dataloader.dataset.data_root = missing
    with pytest.raises(FileNotFoundError, match='no-such-dir'):
        DATASETS.build(cfg.train_dataloader.dataset)


# What each training recipe of the paper (sec. 4, appendix A table 3) lets learn.
_LOC = ('bbox_head.reg_convs', 'bbox_head.conv_reg', 'bbox_head.conv_iou',
        'bbox_head.scales')
_CLS = ('bbox_head.cls_convs', 'bbox_head.conv_cls')
RECIPES = {
    # recipe: (frozen prefixes, prefixes that must learn)
    'finetune': ((), _CLS + _LOC + ('backbone.layer4', 'neck')),
    'frozen': (_LOC, _CLS + ('backbone.layer4', 'neck')),
    'joint-fb': (('backbone', ), _CLS + _LOC + ('neck', )),
    'finetune-fb': (('backbone', 'neck'), _CLS + _LOC),
    'frozen-fb': (('backbone', 'neck') + _LOC, _CLS),
}


@pytest.mark.parametrize('dataset', ['r50_fpn_90k_coco-voc', 'r18-tiny_fpn_1k_shapes'])
@pytest.mark.parametrize('recipe', sorted(RECIPES))
def test_recipe_freezes_what_it_says(recipe, dataset):
    """Two real optimizer steps: frozen weights stay bit-identical, the rest move."""
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmengine.optim import build_optim_wrapper

    import owp.registration  # noqa: F401


    path = osp.join(CONFIGS, dataset.split('_')[-1].split('-')[0],
                    f'fcos-owp-iou-cs-is-{recipe}_{dataset}.py')
    cfg = Config.fromfile(path)
    _null_init_cfg(cfg.model)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    packed = demo_mm_inputs(batch_size=1, image_shapes=[(3, 64, 64)], num_items=[3],
                            num_classes=cfg.model.bbox_head.num_classes)
    model.train()
    for _ in range(2):
        data = model.data_preprocessor(packed, True)
        losses = model(**data, mode='loss')
        optim_wrapper.update_params(sum(v.sum() for k, v in losses.items() if 'loss' in k))
    frozen, learning = RECIPES[recipe]
    moved = {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    for prefix in frozen:
        names = [k for k in before if k.startswith(prefix + '.')]
        assert names, prefix
        assert not moved.intersection(names), (recipe, prefix, sorted(moved & set(names))[:3])
    for prefix in learning:
        assert any(k.startswith(prefix + '.') for k in moved), (recipe, prefix)


def test_finetune_slows_the_localization_branches_and_keeps_the_bias_rule():
    """Every slowed parameter gets 0.1x the joint recipe's lr and the same decay."""
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper

    import owp.registration  # noqa: F401


    groups = {}
    for recipe in ('joint', 'finetune'):
        cfg = Config.fromfile(osp.join(
            CONFIGS, 'coco', f'fcos-owp-iou-cs-is-{recipe}_r50_fpn_90k_coco-voc.py'))
        cfg.model.backbone.depth = 18  # the optimizer groups do not depend on depth
        cfg.model.neck.in_channels = [64, 128, 256, 512]
        _null_init_cfg(cfg.model)
        init_default_scope('mmdet')
        model = MODELS.build(cfg.model)
        names = {id(p): n for n, p in model.named_parameters()}
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
        groups[recipe] = {names[id(g['params'][0])]: (g['lr'], g['weight_decay'])
                          for g in ow.optimizer.param_groups}
    joint, finetune = groups['joint'], groups['finetune']
    assert joint.keys() == finetune.keys()
    slowed = [n for n in joint if n.startswith(_LOC)]
    assert 'bbox_head.conv_reg.bias' in slowed and 'bbox_head.conv_iou.bias' in slowed
    for n in joint:
        ratio = 0.1 if n in slowed else 1.0
        assert finetune[n][0] == pytest.approx(ratio * joint[n][0]), n
        assert finetune[n][1] == joint[n][1], n


def test_scale_keys_reject_unmatched_keys_and_bad_rules():
    from mmengine.optim import build_optim_wrapper

    import owp.registration  # noqa: F401

    init_default_scope('mmdet')
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.GroupNorm(1, 2))

    def build(scale_keys):
        return build_optim_wrapper(model, dict(
            constructor='ScaledOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.1, weight_decay=0.01),
            paramwise_cfg=dict(bias_decay_mult=0., scale_keys=scale_keys)))

    groups = build({'0.': dict(lr_mult=0.5)}).optimizer.param_groups
    # conv weight, conv bias (no decay from bias_decay_mult), gn weight, gn bias
    assert [(g['lr'], g['weight_decay']) for g in groups] == [
        (0.05, 0.01), (0.05, 0.0), (0.1, 0.01), (0.1, 0.0)]
    with pytest.raises(ValueError, match=r"\['neck'\] match no parameter"):
        build({'neck': dict(lr_mult=0.)})
    with pytest.raises(ValueError, match=r"scale_keys\['0.'\].lr_mult must be"):
        build({'0.': dict(lr_mult=-1)})
    with pytest.raises(ValueError, match="'lr_mult' and/or 'decay_mult'"):
        build({'0.': dict(lr=0.)})


def _stated_names(path):
    """The top-level names a config file assigns (what it states), ``_base_`` aside."""
    with open(path) as f:
        tree = ast.parse(f.read())
    return {t.id for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)} - {'_base_'}


def _schedule_keys():
    """Every top-level key a schedule base defines (optim_wrapper, param_scheduler, ...)."""
    paths = glob.glob(osp.join(CONFIGS, '_base_', 'schedules', '*.py'))
    assert paths
    return {k for p in paths for k in Config.fromfile(p).keys()}


def test_there_are_experiment_configs():
    assert len(EXPERIMENT_CONFIGS) >= 20  # figure 6's grid and table 4's start iterations


@pytest.mark.parametrize('path', EXPERIMENT_CONFIGS,
                         ids=lambda p: osp.relpath(p, osp.join(REPO, 'experiments')))
def test_experiment_config_is_thin_and_builds(path):
    """A study's config inherits one config of configs/, sets its sweep point (or optimizer), and builds."""
    from mmdet.registry import MODELS

    import owp.registration  # noqa: F401
    with open(path) as f:
        lines = [ln for ln in f if ln.strip() and not ln.lstrip().startswith('#')]
    assert len(lines) <= 8, 'experiment configs state only their sweep point'
    cfg = Config.fromfile(path)
    base = Config._get_base_files(path)  # mmengine's own parser of `_base_`
    assert len(base) == 1 and base[0].startswith('../../configs/'), base
    assert cfg.custom_imports['imports'] == ['owp.registration']
    if 'unknown_thr' in cfg:  # a masking sweep point: the lifted values are what the head gets
        masking = cfg.model.bbox_head.unknown_masking
        assert masking['start_iter'] == cfg.unknown_start_iter
        assert masking['thr'] == cfg.unknown_thr
    else:  # the schedule studies' configs state the optimizer (and other schedule keys)
        stated = _stated_names(path)
        assert 'optim_wrapper' in stated and stated <= _schedule_keys(), sorted(stated)
        # ... and differ from their base in nothing else (the AdamW ones in nothing at all:
        # the shapes default became their recipe)
        base_cfg = Config.fromfile(osp.join(osp.dirname(path), base[0])).to_dict()
        changed = {k for k in cfg.keys() | base_cfg.keys() if cfg.get(k) != base_cfg.get(k)}
        assert changed <= stated, f'differs from {base[0]} in {sorted(changed - stated)}'
    _null_init_cfg(cfg.model)
    init_default_scope('mmdet')
    MODELS.build(cfg.model)


@pytest.mark.parametrize('dataset, recipes', [
    ('r50_fpn_90k_coco-voc', ('joint-unknown', 'joint-fb', 'finetune', 'frozen', 'finetune-fb',
                              'frozen-fb')),
    ('r50_fpn_90k_lvis-freq', ('joint-unknown', 'joint-unknown-area')),
    ('r18-tiny_fpn_1k_shapes', ('joint-unknown', 'joint-fb', 'finetune', 'frozen',
                                'finetune-fb', 'frozen-fb')),
])
def test_recipes_restate_the_joint_model_exactly(dataset, recipes):
    """Recipes inherit IoU-CS-IS (shallow) and restate the joint head: the two never diverge."""
    def model(name):
        cfg = Config.fromfile(osp.join(CONFIGS, dataset.split('_')[-1].split('-')[0],
                                       f'fcos-owp-iou-cs-is-{name}_{dataset}.py'))
        m = cfg.model.to_dict()
        m['bbox_head'].pop('unknown_masking', None)  # what -unknown adds
        m['backbone'].pop('frozen_stages')           # what fb changes
        return m, cfg
    joint, joint_cfg = model('joint')
    for recipe in recipes:
        m, cfg = model(recipe)
        assert m == joint, recipe
        assert cfg.get('load_from') is None, recipe  # wired per run, never a path here
