"""The page-text benchmark: what the model reads, measured on public pages with ground truth.

``python -m bench.extraction`` (see README.md beside this file)."""
