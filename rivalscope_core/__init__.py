"""What the crawler and the analyser both need: the page/result record format and the S3 key
layout of SPEC.md. One copy, pure functions and dataclasses, no I/O."""
