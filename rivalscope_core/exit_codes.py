"""The exit codes every rivalscope command shares (SPEC.md), and the error that means exit 2.

- ``EXIT_OK`` (0): the job ran and nothing failed;
- ``EXIT_FAILED`` (1): the job ran but some pages failed or are left for later (each failure is
  in the output, none is silent), or a crawl stored nothing;
- ``EXIT_USAGE`` (2): bad usage or configuration; the message names what to fix;
- ``EXIT_INTERRUPTED`` (130): stopped by Ctrl-C or SIGTERM, the shell's 128 + SIGINT."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """Exit 2: the command was given something it cannot use; the message says what to fix."""
