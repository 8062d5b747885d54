"""What the crawler and the analyser both need, one copy for both images: the page/result
record format (``records``), every S3 key layout (``keys``), URL lists and shards (``urls``),
the exit codes of every command (``exit_codes``) — pure functions and dataclasses, no I/O — and
the one factory of S3 clients (``s3``), which builds a client but sends nothing."""
