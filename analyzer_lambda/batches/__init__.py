"""Re-analysis through the Gemini Batch API (``reanalyze --via batch``, SPEC.md): submit pages as
batch jobs at half price, collect the answers later under the pages' normal result keys."""
