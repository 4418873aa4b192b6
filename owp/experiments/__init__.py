"""Studies: every table and figure of the paper as manifests one command trains,
evaluates and tabulates over seeds, resumably (``python -m owp.experiments``).

Not imported by ``import owp``: nothing here registers a module.
"""
from .aggregate import aggregate, collect_runs, markdown_table, mean_std, update_readme
from .claims import evaluate_claims, write_claims
from .manifest import Claim, ClaimPart, ManifestError, Row, Study, load_study
from .runner import Launch, plan_runs, run_state, run_study, study_status, tabulate

__all__ = ['Claim', 'ClaimPart', 'Launch', 'ManifestError', 'Row', 'Study', 'aggregate',
           'collect_runs', 'evaluate_claims', 'load_study', 'markdown_table', 'mean_std',
           'plan_runs', 'run_state', 'run_study', 'study_status', 'tabulate', 'update_readme',
           'write_claims']
