"""Import structure: results-file evaluation stays numpy-only; registration is explicit."""
import json
import subprocess
import sys

HEAVY = ('torch', 'mmengine', 'mmdet', 'mmcv')


def _loaded_after(code: str) -> list:
    out = subprocess.run(
        [sys.executable, '-c',
         code + f'\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))'],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_results_mode_cli_loads_no_torch_or_mmdet(tmp_path):
    """The CLI module, its argument parsing and a whole results-file evaluation."""
    ann = dict(images=[dict(id=1)], categories=[dict(id=1, name='a'), dict(id=2, name='b')],
               annotations=[dict(id=1, image_id=1, category_id=2, bbox=[0, 0, 10, 10],
                                 area=100, iscrowd=0)])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    (tmp_path / 'res.json').write_text(json.dumps(
        [dict(image_id=1, category_id=1, bbox=[0, 0, 10, 10], score=0.5)]))
    argv = ['--ann', str(tmp_path / 'ann.json'), '--results', str(tmp_path / 'res.json'),
            '--split', str(tmp_path / 's.json'),
            '--subsets', 'novel', '--out', str(tmp_path / 'm.json')]
    (tmp_path / 's.json').write_text(json.dumps(dict(base=['a'], novel=['b'])))
    assert _loaded_after('import owp.tools.eval_novel') == []
    assert _loaded_after('import owp, owp.evaluation, owp.datasets') == []
    assert _loaded_after(f'from owp.tools.eval_novel import main\nmain({argv!r})') == []
    assert json.loads((tmp_path / 'm.json').read_text())['AR@10'] == 1.0


def test_analysis_and_reading_a_score_dump_load_no_torch(tmp_path):
    """owp.analysis (tables, curves, the histograms' dump reader) needs numpy, not torch."""
    import numpy as np
    path = str(tmp_path / 'd.npz')
    np.savez(path, score=np.array([0.5]), novel_iou=np.array([0.7]), logits=np.array([0.2]))
    assert _loaded_after('import owp.analysis') == []
    read = ('import warnings\nfrom owp.analysis import load_score_dump\n'
            'with warnings.catch_warnings():\n'
            "    warnings.simplefilter('ignore', DeprecationWarning)\n"
            f'    d = load_score_dump({path!r})\n'
            "assert d['cls_prob'][0] == 0.2 and 'logits' not in d\n")
    assert _loaded_after(read) == []
    from owp.analysis import load_score_dump
    from owp.evaluation.metrics import load_score_dump as metric_reader
    assert load_score_dump is metric_reader  # one reader, re-exported by the metric


def test_registration_module_registers_everything():
    code = ('import owp.registration\n'
            'from mmdet.registry import DATASETS, METRICS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS\n'
            'from mmengine.runner.checkpoint import CheckpointLoader\n'
            "assert CheckpointLoader._get_checkpoint_loader('a.pth').__module__ == "
            "'owp.engine.checkpoint'\n"
            "assert MODELS.get('OWPFCOSHead') is not None\n"
            "assert METRICS.get('OWPRecallMetric') is not None\n"
            "assert METRICS.get('OWPScoreDump') is not None\n"
            "assert DATASETS.get('OWPCocoDataset') is not None\n"
            "assert DATASETS.get('OWPLVISV1Dataset') is not None\n"
            "assert OPTIM_WRAPPER_CONSTRUCTORS.get('ScaledOptimWrapperConstructor') is not None\n")
    assert set(_loaded_after(code)) >= {'torch', 'mmdet', 'mmengine'}


def test_lazy_names_still_resolve():
    """Names that moved behind PEP 562 ``__getattr__`` are still importable."""
    import owp
    from owp.datasets import OWPCocoDataset
    from owp.evaluation import OWPRecallMetric
    assert OWPRecallMetric.__name__ == 'OWPRecallMetric'
    assert OWPCocoDataset.__name__ == 'OWPCocoDataset'
    assert owp.models.OWPFCOSHead.__name__ == 'OWPFCOSHead'


def test_custom_imports_in_one_base_only():
    """Every config gets the registration import from the runtime base, and only there."""
    import glob
    import os.path as osp
    root = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
    having = sorted(osp.relpath(p, root) for p in glob.glob(osp.join(root, '**', '*.py'),
                                                          recursive=True)
                    if 'custom_imports' in open(p).read())
    assert having == [osp.join('_base_', 'default_runtime.py')]
