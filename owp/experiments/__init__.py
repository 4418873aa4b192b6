"""Studies: every table and figure of the paper as manifests one command trains,
evaluates and tabulates over seeds, resumably (``python -m owp.experiments``).

Not imported by ``import owp``: nothing here registers a module.
"""
from .aggregate import aggregate, collect_runs, markdown_table, mean_std, update_readme
from .manifest import ManifestError, Row, Study, load_study
from .runner import Launch, plan_runs, run_state, run_study, study_status, tabulate

__all__ = ['Launch', 'ManifestError', 'Row', 'Study', 'aggregate', 'collect_runs',
           'load_study', 'markdown_table', 'mean_std', 'plan_runs', 'run_state', 'run_study',
           'study_status', 'tabulate', 'update_readme']
