"""AR tables from metric dicts (never typed by hand)."""
from typing import Iterable, List, Mapping, Sequence

import pandas as pd

__all__ = ['recall_table', 'to_markdown']


def recall_table(rows: Iterable[Mapping], metric_keys: Sequence[str],
                 index: Sequence[str] = ('experiment', 'score')) -> pd.DataFrame:
    """A DataFrame of recall metrics in percent.

    Args:
        rows: Mappings holding the ``index`` fields and a ``metrics`` dict whose
            values are fractions in [0, 1] (e.g. ``{'novel/AR@100': 0.31}``);
            -1 (no ground truth in that area range) becomes NaN, shown 'n/a'.
        metric_keys: Which metric keys to show, in order. A missing key is an
            error (a silently empty column would read as zero recall).
        index: Row label fields.

    Returns:
        pd.DataFrame: one row per input row, metric columns in percent.
    """
    records: List[dict] = []
    for r in rows:
        missing = [k for k in metric_keys if k not in r['metrics']]
        if missing:
            raise KeyError(f'metrics of {[r[i] for i in index]} lack {missing}; '
                           f'have {sorted(r["metrics"])}')
        rec = {i: r[i] for i in index}
        # -1 is pycocotools' "no ground truth in this range": not a recall of -100 %.
        rec.update({k: 100.0 * float(r['metrics'][k]) if r['metrics'][k] >= 0 else float('nan')
                    for k in metric_keys})
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=list(index) + list(metric_keys))


def to_markdown(df: pd.DataFrame, floatfmt: str = '.2f') -> str:
    """A GitHub-markdown table (no extra dependency)."""
    cols = list(df.columns)
    lines = ['| ' + ' | '.join(cols) + ' |',
             '| ' + ' | '.join('---:' if pd.api.types.is_numeric_dtype(df[c]) else '---'
                               for c in cols) + ' |']
    for _, row in df.iterrows():
        cells = [('n/a' if v != v else format(v, floatfmt)) if isinstance(v, float) else str(v)
                 for v in row]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
