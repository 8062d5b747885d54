"""Prompts (SPEC.md "Prompt files"): ``parser`` turns a prompt file into a ``Prompt`` and its id
(pure), ``resolver`` finds the text a prompt reference names (a path, an ``s3://`` URI or a
name under ``prompts/``); ``default_prompt.md`` is the bundled prompt."""
