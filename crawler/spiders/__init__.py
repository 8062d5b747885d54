"""The ``competitors`` spider and its helpers."""
