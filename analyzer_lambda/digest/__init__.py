"""The run's digest (SPEC.md "Digest and notifications", issue #13): what changed across all
competitors, most important first, each point naming the page and its competitor, at most
~300 words, in ``DIGEST_LANGUAGE``.

``rank`` orders the change records (prices and plans before wording), ``offline`` writes the
deterministic digest, ``request`` + ``gemini`` have Gemini write it from the changes only,
``markdown`` / ``section`` / ``model.Digest.to_dict`` render ``digest.md``, the report's
section and ``digest.json``; ``build`` is the edge that chooses and writes."""
