"""scripts/eval_novel.sh (both modes) and scripts/make_split.py."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, SHAPES_ROOT_CONFIG
from test_recall import SPLIT, make_data, make_xclass_data, xclass_reference_ar

from owp.evaluation import evaluate_proposals

SCRIPT = osp.join(REPO, 'scripts', 'eval_novel.sh')


def _run(*args, cwd=None):
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run(['bash', SCRIPT, *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def _write_case(tmp_path, coco, dets):
    """Annotation, results and split files of a case; their paths (str)."""
    paths = [tmp_path / 'ann.json', tmp_path / 'res.json', tmp_path / 'split.json']
    for path, obj in zip(paths, (coco, dets, SPLIT)):
        path.write_text(json.dumps(obj))
    return tuple(str(p) for p in paths)


@pytest.fixture()
def files(tmp_path):
    coco, dets = make_data(8, n_img=40)
    return (coco, dets, *_write_case(tmp_path, coco, dets))


@pytest.mark.parametrize('protocol', ['remove', 'ignore', 'prefilter'])
def test_results_file_mode(files, tmp_path, protocol, capsys):
    coco, dets, ann, res, split = files
    out = tmp_path / 'm.json'
    args = ['--ann', ann, '--results', res, '--split', split, '--protocol', protocol,
            '--max-dets', '10,100', '--out', str(out)]
    if protocol == 'remove':  # the shell script itself, once
        proc = _run(*args)
        assert proc.returncode == 0, proc.stderr
        stdout = proc.stdout
    else:
        from owp.tools.eval_novel import main
        assert main(args) == 0
        stdout = capsys.readouterr().out
    got = json.loads(out.read_text())
    ref = evaluate_proposals(coco, dets, SPLIT, ('novel', 'base'), protocol, (10, 100))
    for k in ('AR@10', 'AR@100', 'ARs@100', 'ARm@100', 'ARl@100'):
        assert got[k] == pytest.approx(ref[f'novel/{k}'], abs=1e-12)
        assert 0 <= got[k] <= 1
    assert got['base/AR@100'] == pytest.approx(ref['base/AR@100'])
    assert 'AR@100' in stdout and f'{100 * ref["novel/AR@100"]:.2f}' in stdout


def _fails(args, capsys):
    from owp.tools.eval_novel import main
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code != 0
    return str(e.value.code) + capsys.readouterr().err


def test_results_file_errors_name_the_entry(files, tmp_path, capsys):
    coco, dets, ann, res, split = files
    dets[3]['bbox'][2] = -1.0
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dets))
    msg = _fails(['--ann', ann, '--results', str(bad), '--split', split], capsys)
    assert 'results[3]' in msg and 'width or height' in msg and 'bad.json' in msg
    msg = _fails(['--ann', ann, '--results', str(tmp_path / 'missing.json'), '--split', split],
                 capsys)
    assert 'missing.json' in msg
    msg = _fails(['--ann', ann, '--results', res, '--split', 'coco-voc'], capsys)
    assert 'unknown base class' in msg
    assert '--split' in _fails(['--ann', ann, '--results', res], capsys)


def test_results_decoded_while_the_annotation_file_is_read(files, tmp_path, monkeypatch,
                                                           capsys):
    """The CLI starts decoding the results file's tail before reading the
    annotation file: the same metrics and the same errors, in the same order
    (a bad annotation file first), and the decoding process is always reaped."""
    from owp.evaluation.functional import results_io
    from owp.tools.eval_novel import main
    coco, dets, ann, res, split = files
    monkeypatch.setattr(results_io, 'PARALLEL_MIN_BYTES', 0)
    monkeypatch.setenv('OWP_EVAL_THREADS', '2')
    tails = []
    tail_cls = results_io._Tail
    monkeypatch.setattr(results_io, '_Tail', lambda *a: tails.append(tail_cls(*a)) or tails[-1])
    out = tmp_path / 'm.json'
    assert main(['--ann', ann, '--results', res, '--split', split, '--out', str(out)]) == 0
    assert json.loads(out.read_text())['AR@100'] == pytest.approx(
        evaluate_proposals(coco, dets, SPLIT, ('novel', ), 'remove', (10, 100))['novel/AR@100'],
        abs=1e-12)
    bad_ann = tmp_path / 'bad_ann.json'
    bad_ann.write_text('{"images": [}')
    msg = _fails(['--ann', str(bad_ann), '--results', res, '--split', split], capsys)
    assert 'annotation file' in msg and 'bad_ann.json' in msg and 'not valid JSON' in msg
    dets[30]['score'] = 'high'
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dets))
    msg = _fails(['--ann', ann, '--results', str(bad), '--split', split], capsys)
    assert 'results[30]' in msg and 'bad.json' in msg
    assert len(tails) == 3 and all(t.pid is None for t in tails)


def test_model_mode_and_dumped_proposals(tiny_shapes, tmp_path, capsys):
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import owp.registration  # noqa: F401
    from owp.tools.eval_novel import main
    from owp.utils import data_root_cfg_options
    cfg = Config.fromfile(SHAPES_ROOT_CONFIG)
    assert cfg.model.test_cfg.max_per_img == 100
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    out, dump = tmp_path / 'm.json', tmp_path / 'proposals.json'
    opts = data_root_cfg_options(cfg, tiny_shapes) + [
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    assert main([SHAPES_ROOT_CONFIG, str(ckpt), '--max-dets', '5,150', '--out', str(out),
                 '--dump-proposals', str(dump), '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *opts]) == 0
    got = json.loads(out.read_text())
    assert set(got) >= {'AR@5', 'AR@150', 'ARs@150', 'ARm@150', 'ARl@150', 'base/AR@150'}
    assert got['ARl@150'] is None  # shapes objects are at most 72 px: no large box
    assert all(0 <= v <= 1 for v in got.values() if v is not None)
    captured = capsys.readouterr()
    assert 'novel' in captured.out
    # the config keeps 100 per image: raised to 150, and said so
    assert 'max_per_img=100' in captured.err and 'raised to 150' in captured.err
    props = json.loads(dump.read_text())
    counts = np.bincount([p['image_id'] for p in props])
    assert counts.max() > 100  # the model really kept more than the config's 100
    # score components of OWPFCOSHead ride along; categories are the file's
    assert {'image_id', 'category_id', 'bbox', 'score', 'cls_prob', 'centerness'} <= set(props[0])
    ann = osp.join(tiny_shapes, 'annotations', 'instances_val.json')
    cat_ids = {c['id'] for c in json.loads(open(ann).read())['categories']}
    assert {p['category_id'] for p in props} <= cat_ids
    # round trip: the dumped proposals give the same numbers in results-file mode
    again = tmp_path / 'again.json'
    assert main(['--ann', ann, '--results', str(dump), '--split', 'shapes', '--max-dets',
                 '5,150', '--out', str(again)]) == 0
    assert json.loads(again.read_text()) == got
    # ... and evaluate again under another protocol and k list without the model
    assert main(['--ann', ann, '--results', str(dump), '--split', 'shapes', '--protocol',
                 'ignore', '--max-dets', '1,3', '--out', str(again)]) == 0
    assert set(json.loads(again.read_text())) >= {'AR@1', 'AR@3', 'base/AR@3'}


def test_ignore_protocol_through_the_cli_equals_the_xclass_reference(tmp_path):
    """eval_novel.sh --protocol ignore --max-dets oln: OLN's numbers, its k list, its AUC."""
    coco, dets = make_xclass_data(1, n_img=40)
    ann, res, split = _write_case(tmp_path, coco, dets)
    out = tmp_path / 'm.json'
    proc = _run('--ann', ann, '--results', res, '--split', split, '--protocol',
                'ignore', '--max-dets', 'oln', '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    got = json.loads(out.read_text())
    ks = (1, 10, 20, 30, 50, 100, 300, 500, 1000, 1500)
    ref = xclass_reference_ar(coco, dets, {7, 12, 20}, ks)
    for k, v in ref.items():
        if k != 'AR@1':
            assert got[k] == pytest.approx(v, abs=1e-9), k
    assert 'AR@1' not in got  # keys are the k asked for
    from owp.evaluation.functional.recall import oln_auc
    auc = oln_auc({k: ref[f'AR@{k}'] for k in (1, 10, 30, 50, 100, 300, 500, 1000)})
    assert got['AUC'] == pytest.approx(auc, abs=1e-9) and 'base/AUC' in got
    assert 'AUC' in proc.stdout and f'{100 * auc:.2f}' in proc.stdout
    # at most 44 proposals per image: AR@50 ... AR@1500 all equal AR@44, and it says so
    assert 'warning' in proc.stderr and 'exceed the most proposals' in proc.stderr


def test_bad_protocol_max_dets_and_dump_options(files, tmp_path, capsys):
    coco, dets, ann, res, split = files
    base = ['--ann', ann, '--results', res, '--split', split]
    assert 'invalid choice' in _fails(base + ['--protocol', 'oln'], capsys)
    assert "ints or 'oln'" in _fails(base + ['--max-dets', 'olm'], capsys)
    assert '--dump-proposals is for model mode' in _fails(
        base + ['--dump-proposals', str(tmp_path / 'p.json')], capsys)


def test_make_split(files, tmp_path):
    coco, dets, ann, res, split = files
    out = tmp_path / 'splits'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'scripts', 'make_split.py'),
                           '--ann', ann, '--split', split, '--out-dir', str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    base = json.loads((out / 'ann_base.json').read_text())
    novel = json.loads((out / 'ann_novel.json').read_text())
    assert {c['name'] for c in base['categories']} == set(SPLIT['base'])
    assert {c['name'] for c in novel['categories']} == set(SPLIT['novel'])
    assert len(base['annotations']) + len(novel['annotations']) == len(coco['annotations'])
    assert len(base['images']) == len(novel['images']) == len(coco['images'])
    # evaluating on the novel file (all its classes) equals novel recall on the full file
    full = evaluate_proposals(coco, dets, SPLIT, ('novel', ))
    part = evaluate_proposals(novel, dets, dict(base=[], novel=SPLIT['novel']), ('novel', ))
    assert full == part


def test_no_box_of_a_size_is_null_and_no_box_at_all_fails(files, tmp_path, capsys):
    coco, dets, ann, res, split = files
    small = dict(coco, annotations=[dict(a, area=min(a['area'], 30.0 ** 2))
                                    for a in coco['annotations']])
    small_ann = tmp_path / 'small.json'
    small_ann.write_text(json.dumps(small))
    out = tmp_path / 'm.json'
    from owp.tools.eval_novel import main
    assert main(['--ann', str(small_ann), '--results', res, '--split', split,
                 '--out', str(out)]) == 0
    got = json.loads(out.read_text())
    assert got['ARl@100'] is None and got['ARm@100'] is None and 0 < got['AR@100'] <= 1
    assert 'n/a' in capsys.readouterr().out
    novel_ids = {c['id'] for c in coco['categories'] if c['name'] in SPLIT['novel']}
    no_novel = dict(coco, annotations=[a for a in coco['annotations']
                                       if a['category_id'] not in novel_ids])
    no_novel_ann = tmp_path / 'no_novel.json'
    no_novel_ann.write_text(json.dumps(no_novel))
    msg = _fails(['--ann', str(no_novel_ann), '--results', res, '--split', split], capsys)
    assert 'no_novel.json' in msg and 'no (non-crowd) box of the novel classes' in msg


def test_ar_table_from_metric_files(tmp_path, capsys):
    a, b = tmp_path / 'a.json', tmp_path / 'b.json'
    a.write_text(json.dumps({'AR@10': 0.25, 'AR@100': 0.5, 'ARl@100': None}))
    b.write_text(json.dumps({'AR@10': 0.125, 'AR@100': 0.75, 'ARl@100': 0.1}))
    script = osp.join(REPO, 'scripts', 'ar_table.py')
    out = tmp_path / 't.csv'
    proc = subprocess.run([sys.executable, script, f'iou={a}', f'iou-cs-is={b}',
                           '--out', str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == '| experiment | AR@10 | AR@100 | ARl@100 |'
    assert lines[2] == '| iou | 25.00 | 50.00 | n/a |'
    assert lines[3] == '| iou-cs-is | 12.50 | 75.00 | 10.00 |'
    assert out.read_text().splitlines()[1] == 'iou,25.00,50.00,'
    import importlib.util
    spec = importlib.util.spec_from_file_location('ar_table', script)
    ar_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ar_table)
    for args, words in (([f'x={a}', '--keys', 'AR@300'], "lack ['AR@300']"),
                        ([f'x={tmp_path / "nope.json"}'], 'nope.json'),
                        ([str(a)], 'expected LABEL=PATH')):
        with pytest.raises(SystemExit) as e:
            ar_table.main(args)
        assert e.value.code == 2
        assert words in capsys.readouterr().err
