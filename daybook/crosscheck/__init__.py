"""``make crosscheck``: Daybook's answers against MetricFlow's on the same semantic manifest.

Issue 16 asks for proof that Daybook's own compiler means what dbt's semantic layer
means. This package builds a small sample warehouse with Daybook, asks MetricFlow
(``mf query``, installed in a separate environment so the main one keeps its pins) and
Daybook's API (in process) the same question for every shipped metric at every grain
both support, and lists each difference with its cause: a deliberate Daybook rule or
a known MetricFlow bug. Only an unexplained difference fails the run.

Modules: ``sample`` (the warehouse and the UTC client), ``periods`` (whole-period
ranges per grain), ``metricflow`` (the dbt project, profile and ``mf query`` runs),
``daybook_side`` (the API through Flask's test client), ``compare`` (the differences
and their causes: pure, unit-tested in ``tests/test_crosscheck_compare.py``),
``report`` (the tables) and ``__main__`` (the command).
"""
