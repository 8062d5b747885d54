"""The analyser: a Lambda container handler that asks an LLM about stored pages, plus the local
re-analysis and report commands. One package per feature (``report/``, ``reanalyze/``,
``prompts/``, ``analyzers/``); ``deps.py`` builds what they all run on."""
