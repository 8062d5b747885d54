"""The report of a run (``python -m analyzer_lambda.report``, SPEC.md): the command in
``__main__``, S3 reads in ``source``, screenshot files in ``screenshots``, rows and CSV in
``rows``, HTML in ``html`` (pure), writing and uploading in ``outputs``."""
