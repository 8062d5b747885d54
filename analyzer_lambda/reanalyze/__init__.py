"""Re-analysis of stored pages (``python -m analyzer_lambda.reanalyze``, SPEC.md): the command
in ``__main__``, what a run would do and cost in ``plan``, carrying it out in ``runners``, the
dated model prices in ``pricing``."""
