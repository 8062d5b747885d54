"""One notification per complete run (SPEC.md "Digest and notifications", issue #13), through
Apprise: ``facts`` reads what the run's report folder holds (digest, changes, counts, the top
change's crop), ``message`` turns it into the message (pure), ``sender`` hands it to Apprise
with retries, ``once`` makes it happen once per run however often it is asked for (a
conditional S3 write claims it, ``notify.json`` records it), and ``__main__`` is
``python -m analyzer_lambda.notify``."""
