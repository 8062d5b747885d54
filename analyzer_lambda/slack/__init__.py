"""The Slack slash command (SPEC.md "Front door", issue #15): ``/rivalscope URL [URL...]
[prompt text]`` is acknowledged within 3 s, starts a run, and the run-complete step posts each
page's analysis and screenshot into the channel with a link to the full report.

- ``command``, ``messages``, ``mrkdwn``: pure (parsing; every text and Block Kit message);
- ``app``: the Bolt app (signature and replay checks, the acknowledgement, the lazy start);
- ``handler`` (Lambda function URL) and ``endpoint`` (``make serve``): its two servers;
- ``starter``: what it needs from whoever starts runs (``RunStarter``);
- ``hook``, ``answer``, ``poster``: the answer once the run is complete;
- ``store``: all of its S3 I/O; ``wiring``, ``secrets``: building it from the configuration."""
