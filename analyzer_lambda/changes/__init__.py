"""What changed since a page's previous capture (SPEC.md, Changes; issue #12).

Pure modules, each with one job: ``rules`` (CHANGE_RULES and the default date/time noise),
``text_diff`` (the page's reduced text, noise suppressed, and the model-input fingerprint),
``visual_diff`` (changed regions of two full-page screenshots, robust to vertical shifts),
``answer_diff`` (answer fields, lists matched by content) and ``history`` (the per-run manifest
that finds a page's previous capture without reading the archive). Nothing here does I/O: the
caller reads chunks and manifests and passes plain values in.
"""
