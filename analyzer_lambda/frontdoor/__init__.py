"""The front door (SPEC.md "Front door", issue #15): "URLs + prompt in, screenshots + analysis
out" over HTTP. ``POST /runs`` validates a request and starts a run; ``GET /runs/{run}`` tells
its status, each page's analysis or error with a presigned screenshot URL, and the report URL.

The core is pure and shared by both servers: ``app.FrontDoor`` takes a ``http.Request`` and
returns a ``http.Response``; what starts a run (``launch``: Step Functions in AWS, the local
stack in ``make serve``) and S3 (``store``) are passed in. ``lambda_url`` adapts it to a Lambda
function URL; ``rivalscope_local.serve`` to uvicorn."""
