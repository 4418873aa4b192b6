"""The paper's claims in study manifests: paired differences, intervals, verdicts, READMEs."""
import json
import math
import os
import os.path as osp

import pytest
from conftest import REPO

SHAPES = osp.join(REPO, 'configs', 'shapes')
JOINT = osp.join(SHAPES, 'fcos-owp-iou-cs-is-joint_r18-tiny_fpn_1k_shapes.py')
OWP = osp.join(SHAPES, 'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py')


def _write_study(folder, claims, rows=None, readme=True):
    """A study (YAML is JSON's superset: one row or claim per line) and its README."""
    os.makedirs(folder, exist_ok=True)
    rows = rows or [dict(name='a', config=JOINT, scores=['logits*iou', 'iou']),
                    dict(name='b', config=OWP, scores=['iou'])]
    lines = ['seeds: [0, 1, 2]', 'max_dets: [10, 100]', 'curve_k: [1, 10]',
             'metrics: ["novel/AR@100", "base/AP"]', 'rows:']            # lines 1-5
    lines += [f'  - {json.dumps(r)}' for r in rows]                       # lines 6-7
    lines += ['claims:'] + [f'  - {json.dumps(c)}' for c in claims]       # line 8, 9...
    with open(osp.join(folder, 'manifest.yaml'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    if readme:
        from owp.experiments.aggregate import README_BEGIN, README_END
        from owp.experiments.claims import CLAIMS_BEGIN, CLAIMS_END
        with open(osp.join(folder, 'README.md'), 'w') as f:
            f.write(f'# s\n\n{README_BEGIN}\n{README_END}\n\n## Claims\n\n'
                    f'{CLAIMS_BEGIN}\nold\n{CLAIMS_END}\ntail\n')
    return osp.join(folder, 'manifest.yaml')


def _claim(**kw):
    return dict(dict(id='c', paper='a beats b', where='sec. 5.1', metric='novel/AR@100',
                     a='a', b='b', kind='better'), **kw)


def test_t_quantiles_are_the_textbook_ones():
    from owp.experiments.claims import t_quantile
    # two-sided 95%: t(0.975, df), as printed in every t table
    for df, t in ((1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (9, 2.262), (29, 2.045)):
        assert t_quantile(0.975, df) == pytest.approx(t, abs=5e-4), df
    assert t_quantile(0.975, 10 ** 6) == pytest.approx(1.95996, abs=1e-4)  # the normal's
    assert t_quantile(0.5, 3) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match='df >= 1'):
        t_quantile(0.975, 0)


def test_interval_by_hand():
    from owp.experiments.claims import t_interval
    r = t_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, half-width 4.303 / sqrt(3) = 2.484
    assert (r['mean'], r['n']) == (2.0, 3) and r['std'] == pytest.approx(1.0)
    assert r['low'] == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-5)
    assert r['high'] == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-5)
    r = t_interval([0.5, -0.5])  # sd 0.7071, half-width 12.706 * 0.7071 / sqrt(2) = 6.353
    assert r['mean'] == 0.0 and r['high'] == pytest.approx(6.353102, abs=1e-5)
    assert t_interval([3.0]) == dict(mean=3.0, std=None, n=1, t=None, low=None, high=None)
    assert t_interval([])['mean'] is None
    r = t_interval([1.5, 1.5, 1.5])  # no spread: the interval is the point
    assert (r['low'], r['high']) == (1.5, 1.5)


def test_paired_differences_leave_out_and_count_unpaired_and_undefined_seeds():
    from owp.experiments.claims import paired_differences
    a = {0: 40.0, 1: 42.0, 2: 41.0, 4: -1.0}
    b = {0: 38.0, 1: 43.0, 3: 39.0, 4: 30.0}
    p = paired_differences(a, b)
    assert p['seeds'] == [0, 1] and p['differences'] == [2.0, -1.0]
    assert (p['a_only'], p['b_only'], p['undefined']) == ([2], [3], [4])


@pytest.mark.parametrize('kind, low, high, n, margin, verdict', [
    ('better', 0.1, 3.0, 3, None, 'supported'),
    ('better', -3.0, -0.2, 3, None, 'contradicted'),
    ('better', -0.5, 3.0, 3, None, 'not resolved at n=3'),
    ('better', 0.0, 0.0, 4, None, 'not resolved at n=4'),    # no difference is not "above"
    ('better', None, None, 1, None, 'not resolved at n=1'),  # one seed: no interval
    ('better', None, None, 0, None, 'not resolved at n=0'),
    ('close', -1.5, 1.9, 3, 2.0, 'supported'),
    ('close', -2.0, 2.0, 3, 2.0, 'supported'),                # the margin is included
    ('close', 2.1, 5.0, 3, 2.0, 'contradicted'),
    ('close', -6.0, -2.5, 3, 2.0, 'contradicted'),
    ('close', -1.0, 2.5, 3, 2.0, 'not resolved at n=3'),     # straddles the margin
    ('close', -3.0, 3.0, 3, 2.0, 'not resolved at n=3'),     # wider than the band
    ('close', None, None, 1, 2.0, 'not resolved at n=1'),
])
def test_verdict_rule(kind, low, high, n, margin, verdict):
    from owp.experiments.claims import part_verdict
    assert part_verdict(kind, low, high, n, margin) == verdict


def test_parts_combine_as_a_conjunction():
    from owp.experiments.claims import combine_verdicts
    assert combine_verdicts(['supported', 'supported'], [3, 3]) == 'supported'
    assert combine_verdicts(['supported', 'contradicted'], [3, 3]) == 'contradicted'
    assert combine_verdicts(['not resolved at n=1', 'contradicted'], [1, 3]) == 'contradicted'
    assert combine_verdicts(['supported', 'not resolved at n=2'], [3, 2]) == 'not resolved at n=2'


def _runs(values):
    """metrics.json contents from {(row, seed): (novel AR@100, base AP)} in fractions."""
    return [dict(row=row, seed=seed, scores={
        ('logits*iou' if row == 'a' else 'iou'): {'novel/AR@100': ar, 'base/AP': ap},
        **({'iou': {'novel/AR@100': ar - 0.1, 'base/AP': -1.0}} if row == 'a' else {})})
        for (row, seed), (ar, ap) in values.items()]


def test_claims_of_a_study_by_hand(tmp_path):
    from owp.experiments import evaluate_claims, load_study
    path = _write_study(str(tmp_path / 's'), [
        _claim(),
        _claim(id='close', kind='close', margin=1.0, a_score='iou'),
        dict(id='both', paper='p', where='w', parts=[
            dict(metric='novel/AR@100', a='a', b='b', kind='better'),
            dict(metric='novel/AR@100', a='a', b='b', kind='close', margin=0.5)])])
    s = load_study(path)
    # seeds 0, 1, 2 in a, 0, 1, 3 in b: differences (a - b) 3, 5 points; 2 and 3 left out
    runs = _runs({('a', 0): (0.43, 0.2), ('a', 1): (0.45, 0.2), ('a', 2): (0.9, 0.2),
                  ('b', 0): (0.40, 0.1), ('b', 1): (0.40, 0.1), ('b', 3): (0.1, 0.1)})
    rec = {c['id']: c for c in evaluate_claims(s, runs)}
    p = rec['c']['parts'][0]
    assert p['seeds'] == [0, 1] and p['differences'] == pytest.approx([3.0, 5.0])
    assert p['left_out'] == dict(a_only=[2], b_only=[3], undefined=[])
    assert p['mean'] == pytest.approx(4.0) and p['std'] == pytest.approx(math.sqrt(2))
    assert p['low'] == pytest.approx(4 - 12.706205 * math.sqrt(2) / math.sqrt(2), abs=1e-4)
    assert rec['c']['verdict'] == 'not resolved at n=2'  # [-8.7, 16.7] holds 0
    from owp.experiments.claims import summary_markdown
    line = summary_markdown([('s', [rec['c']])]).splitlines()[2]
    assert line == ('| s | c (sec. 5.1) | novel/AR@100: a > b: +4.00 ± 1.41 [-8.71, +16.71] '
                    '(n=2, 2 left out) | not resolved at n=2 |')
    q = rec['close']['parts'][0]  # row a scored by iou: 0.1 lower, so differences -7, -5
    assert q['a_score'] == 'iou' and q['differences'] == pytest.approx([-7.0, -5.0])
    assert q['comparison'] == 'novel/AR@100: |a (iou) − b (iou)| ≤ 1'
    assert rec['both']['verdict'] == 'not resolved at n=2'
    # a third paired seed with the same spread narrows the interval to [+1.52, +6.48]
    runs += _runs({('b', 2): (0.86, 0.1)})
    rec = {c['id']: c for c in evaluate_claims(s, runs)}
    assert rec['c']['parts'][0]['n'] == 3 and rec['c']['parts'][0]['low'] > 0
    assert rec['c']['verdict'] == 'supported'
    assert [p['verdict'] for p in rec['both']['parts']] == ['supported', 'contradicted']
    assert rec['both']['verdict'] == 'contradicted'  # not within 0.5 of each other


def test_a_claim_on_differences_of_rows_pairs_all_four_by_seed(tmp_path):
    """(a − c) > (b − d) per seed: "classification costs OLN more than FCOS"."""
    from owp.experiments import evaluate_claims, load_study
    rows = [dict(name='a', config=OWP, scores=['iou']), dict(name='b', config=OWP, scores=['iou']),
            dict(name='c', config=JOINT, scores=['logits*iou']),
            dict(name='d', config=JOINT, scores=['logits*iou'])]
    path = _write_study(str(tmp_path / 's'), [
        _claim(a_minus='c', b_minus='d'), _claim(id='one', b='c', b_minus='d')], rows=rows)
    s = load_study(path)
    assert s.claims[0].parts[0].describe() == 'novel/AR@100: (a − c) > (b − d)'
    values = {  # novel AR@100 in percent; row c lacks seed 2, row d's seed 1 is undefined
        'a': {0: 40.0, 1: 41.0, 2: 42.0, 3: 40.0}, 'c': {0: 34.0, 1: 35.0, 3: 33.0},
        'b': {0: 38.0, 1: 37.0, 2: 39.0, 3: 36.0}, 'd': {0: 40.0, 1: -100.0, 2: 30.0, 3: 35.0}}
    runs = [dict(row=r, seed=seed, scores={s.rows[i].scores[0]: {'novel/AR@100': v / 100}})
            for i, r in enumerate('abcd') for seed, v in values[r].items()]
    rec = {c['id']: c for c in evaluate_claims(s, runs)}
    p = rec['c']['parts'][0]
    # seed 0: (40 - 34) - (38 - 40) = 8; seed 3: (40 - 33) - (36 - 35) = 6; a side can be
    # negative (b - d = -2 at seed 0) and still counts; seed 2 has no c run, seed 1 no d value
    assert p['seeds'] == [0, 3] and p['differences'] == pytest.approx([8.0, 6.0])
    assert p['a_values'] == pytest.approx([6.0, 7.0]) and p['b_values'] == pytest.approx([-2.0, 1.0])
    assert p['left_out'] == dict(a_only=[], b_only=[2], undefined=[1])
    assert (p['a_minus'], p['b_minus']) == ('c', 'd')
    q = rec['one']['parts'][0]  # a alone against (c - d): 40 - (34 - 40), 40 - (33 - 35)
    assert q['comparison'] == 'novel/AR@100: a > (c − d)'
    assert q['seeds'] == [0, 3] and q['differences'] == pytest.approx([46.0, 42.0])


@pytest.mark.parametrize('claim, words', [
    (_claim(a='zzz'), "a: 'zzz' is not a row of this study (rows: a, b)"),
    (_claim(metric='novel/AR@1000'), "unknown metric key 'novel/AR@1000'"),
    (_claim(kind='close'), 'kind close needs `margin`'),
    (_claim(margin=2), '`margin` is for kind close only'),
    (_claim(kind='>'), "kind must be one of ['better', 'close']"),
    (_claim(b_score='logits*iou'), "b_score: row 'b' is evaluated with ['iou']"),
    (_claim(metric='base/AP'), "base/AP is measured only for scores with logits; row 'b'"),
    (_claim(b='a'), "a and b are the same row and score ('a', 'logits*iou')"),
    (_claim(paper=''), "needs `paper`: the paper's words"),
    (_claim(parts=[]), "has `parts` and 'a'"),
    (_claim(id='x y'), 'claim id must be letters'),
    (_claim(lr=1), "unknown field 'lr'"),
    (dict(id='p', paper='p', where='w', parts=[dict(metric='novel/AR@100', a='a')]),
     'needs `b`'),
    (_claim(b_minus='zzz'), "b_minus: 'zzz' is not a row of this study (rows: a, b)"),
    (_claim(b_minus='b'), "b_minus is b itself ('b', 'iou')"),
    (_claim(metric='base/AP', b='a', b_score='logits*iou', a_minus='b'),
     "base/AP is measured only for scores with logits; row 'b' (a_minus) is scored 'iou'"),
])
def test_bad_claim_fails_naming_the_line(tmp_path, claim, words):
    from owp.experiments import ManifestError, load_study
    path = _write_study(str(tmp_path / 's'), [_claim(id='ok'), claim], readme=False)
    with pytest.raises(ManifestError) as e:
        load_study(path)
    assert f'{path}:10: ' in str(e.value) and words in str(e.value), str(e.value)


def test_duplicate_claim_id_fails(tmp_path):
    from owp.experiments import ManifestError, load_study
    path = _write_study(str(tmp_path / 's'), [_claim(), _claim()], readme=False)
    with pytest.raises(ManifestError, match=r":10: claim 'c': duplicate claim id"):
        load_study(path)


def test_claims_command_writes_files_and_the_readme_block(tmp_path, capsys):
    from owp.experiments.claims import CLAIMS_BEGIN, CLAIMS_END
    from owp.experiments.cli import main
    study = str(tmp_path / 's')
    _write_study(study, [_claim(), _claim(id='close', kind='close', margin=1.0)])
    work = tmp_path / 'work'
    for run in _runs({('a', 0): (0.43, 0.2), ('a', 1): (0.45, 0.2), ('b', 0): (0.40, 0.1),
                      ('b', 1): (0.40, 0.1)}):
        os.makedirs(work / run['row'] / f"seed{run['seed']}")
        with open(work / run['row'] / f"seed{run['seed']}" / 'metrics.json', 'w') as f:
            json.dump(run, f)
    assert main(['claims', study, '--work-dir', str(work)]) == 0
    md = (work / 'claims.md').read_text().strip()
    assert '| c | novel/AR@100: a > b | +4.00 ± 1.41 | [-8.71, +16.71] | 2 | not resolved at n=2 |' in md
    assert '| close | novel/AR@100: \\|a − b\\| ≤ 1 |' in md  # a table cell cannot hold a bare |
    readme = open(osp.join(study, 'README.md')).read()
    assert f'{CLAIMS_BEGIN}\n{md}\n{CLAIMS_END}\ntail\n' in readme and 'old' not in readme
    data = json.loads((work / 'claims.json').read_text())
    assert data['claims'][0]['parts'][0]['differences'] == pytest.approx([3.0, 5.0])
    assert capsys.readouterr().out.strip() == md
    # `table` writes them too
    from owp.experiments import load_study, tabulate
    os.remove(work / 'claims.md')
    out = tabulate(load_study(study), str(work), readme=osp.join(study, 'README.md'))
    assert (work / 'claims.md').read_text().strip() == md and 'claims.json' in out


def test_claims_cli_refuses_what_it_cannot_do(tmp_path, capsys):
    from owp.experiments.cli import main
    with pytest.raises(SystemExit):
        main(['claims'])
    assert 'name a STUDY or give --all' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['claims', 'table1_shapes', '--readme', 'README.md'])
    assert '--readme (the summary across studies) needs --all' in capsys.readouterr().err
    assert main(['claims', 'quickstart', '--work-dir', str(tmp_path)]) == 2
    assert 'states no claims' in capsys.readouterr().err


def test_every_issue12_claim_is_in_a_shapes_study():
    from owp.experiments import load_study
    ids = {name: {c.id for c in load_study(name).claims}
           for name in ('table1_shapes', 'appendixB_shapes', 'figure6_shapes', 'table3_shapes')}
    assert {'iou-beats-centerness', 'iou-cs-is-beats-iou', 'conditional-beats-iou-cs-is',
            'finetune-keeps-ar-and-matches-ap', 'joint-close-to-finetune',
            'unknown-masking-raises-ap-and-ar'} <= ids['table1_shapes']
    assert 'all-sampling-keeps-ar' in ids['appendixB_shapes']
    assert 'masking-0.95-early-raises-ap-and-ar' in ids['figure6_shapes']
    assert {'frozen-fb-keeps-ar-loses-ap', 'finetune-fb-keeps-ar-loses-ap'} <= ids['table3_shapes']


def test_readme_claim_blocks_are_what_the_committed_runs_give():
    """The study READMEs' and the main README's blocks = `claims --all` on results/."""
    from owp.experiments import claims as c
    measured = c.all_claims()
    assert {s.name for s, _, _ in measured} >= {'table1_shapes', 'table3_shapes'}
    for study, _, records in measured:
        with open(osp.join(study.folder, 'README.md')) as f:
            text = f.read()
        assert f'{c.CLAIMS_BEGIN}\n{c.claims_markdown(records)}\n{c.CLAIMS_END}' in text, (
            f'{study.name}: README claims block is stale; run '
            '`python -m owp.experiments claims --all --readme README.md`')
    with open(osp.join(REPO, 'README.md')) as f:
        text = f.read()
    summary = c.summary_markdown([(s.name, r) for s, _, r in measured])
    assert f'{c.SUMMARY_BEGIN}\n{summary}\n{c.SUMMARY_END}' in text, (
        'README claims summary is stale; run '
        '`python -m owp.experiments claims --all --readme README.md`')
