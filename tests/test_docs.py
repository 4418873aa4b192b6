"""The numbers docs/design.md quotes are the ones the code and the configs use."""
import ast
import inspect
import os.path as osp
import re

import pytest
from mmengine.config import Config

from owp.evaluation.metrics import OWPRecallMetric
from owp.models import OWPFCOSHead

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')


def doc_dicts():
    """``{name: {key: literal value}}`` of every ``name=dict(...)`` in design.md's python
    blocks; values that are not literals (``...``, variables) are left out."""
    with open(osp.join(REPO, 'docs', 'design.md')) as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    out = {}
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and getattr(node.value.func, 'id', None) == 'dict':
                vals = {}
                for kw in node.value.keywords:
                    try:
                        vals[kw.arg] = ast.literal_eval(kw.value)
                    except ValueError:
                        if isinstance(kw.value, ast.Call):  # nested dict(...) of literals
                            vals[kw.arg] = {k.arg: ast.literal_eval(k.value)
                                            for k in kw.value.keywords}
                        continue
                    if vals[kw.arg] is Ellipsis:
                        del vals[kw.arg]
                out[node.targets[0].id] = vals
    return out


DOC = doc_dicts()


def as_plain(v):
    """Config values (ConfigDict, lists) compared as the literals the doc writes."""
    if isinstance(v, dict):
        return {k: as_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return tuple(as_plain(x) for x in v)
    return v


def test_the_doc_has_the_three_blocks():
    assert {'bbox_head', 'test_cfg', 'val_evaluator'} <= set(DOC)
    assert len(DOC['bbox_head']) >= 8 and len(DOC['test_cfg']) >= 5


def test_head_block_gives_the_head_defaults():
    params = inspect.signature(OWPFCOSHead.__init__).parameters
    for key, value in DOC['bbox_head'].items():
        if key == 'type':
            assert value == OWPFCOSHead.__name__
            continue
        assert key in params, f'docs/design.md: {key} is not an OWPFCOSHead argument'
        assert as_plain(params[key].default) == as_plain(value), \
            f'docs/design.md: {key}={value!r}, the head defaults to {params[key].default!r}'


@pytest.mark.parametrize('config', ['coco/fcos_r50_fpn_90k_coco-voc.py'])
def test_test_cfg_block_gives_the_configs_values(config):
    test_cfg = Config.fromfile(osp.join(CONFIGS, config)).model.test_cfg
    # the head reads with_score_components with cfg.get(..., False)
    expected = dict(with_score_components=False, **as_plain(test_cfg.to_dict()))
    for key, value in DOC['test_cfg'].items():
        assert key in expected, f'docs/design.md: test_cfg.{key} is not in {config}'
        assert as_plain(value) == expected[key], \
            f'docs/design.md: test_cfg.{key}={value!r}, {config} has {expected[key]!r}'


def test_evaluator_block_gives_the_shapes_config_and_metric_defaults():
    ev = as_plain(Config.fromfile(osp.join(CONFIGS, 'shapes',
                                           'fcos_r18-tiny_fpn_1k_shapes.py')).val_evaluator)
    params = inspect.signature(OWPRecallMetric.__init__).parameters
    for key, value in DOC['val_evaluator'].items():
        expected = ev[key] if key in ev else params[key].default
        assert as_plain(value) == expected, \
            f'docs/design.md: val_evaluator.{key}={value!r}, expected {expected!r}'


def test_contributing_cue_diff_fits_the_current_code():
    """CONTRIBUTING.md's 'add an objectness cue' diff: its context lines are still in
    the files it patches, and it touches exactly one function, one table line, one config."""
    with open(osp.join(REPO, 'CONTRIBUTING.md')) as f:
        diff = re.search(r'```diff\n(.*?)```', f.read(), re.S).group(1)
    files = re.split(r'^--- ', diff, flags=re.M)[1:]
    touched = {}
    for part in files:
        lines = part.splitlines()
        path = lines[1][len('+++ b/'):]
        touched[path] = [ln[1:] for ln in lines if ln.startswith('+') and
                         not ln.startswith('+++')]
        if lines[0] == '/dev/null':
            assert not osp.exists(osp.join(REPO, path)), path
            continue
        with open(osp.join(REPO, path)) as f:
            text = f.read()
        for ln in lines[2:]:
            if ln.startswith(' ') and ln.strip():
                assert ln[1:] in text, f'CONTRIBUTING.md: {path} no longer has {ln[1:]!r}'
    head = touched['owp/models/dense_heads/owp_fcos_head.py']
    assert len(head) == 1 and 'ObjectnessBranch(' in head[0]
    fn = touched['owp/models/utils/objectness.py']
    assert sum(ln.startswith('def ') for ln in fn) == 1
    assert [p for p in touched if p.startswith('configs/')] == \
        ['configs/shapes/fcos-owp-dice_r18-tiny_fpn_1k_shapes.py']
