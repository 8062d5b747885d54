"""The run-complete step (SPEC.md "Runs"): off a shard marker's event, once every marker of the
run exists and every page of it has a result, the run's report and ``run.json`` are written,
exactly once per run. ``progress`` judges completeness (pure), ``complete`` does the I/O."""
