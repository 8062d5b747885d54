"""The local event source mapping: long-polls the queue, hands each batch to the Lambda handler
as an SQS event (in-process), and deletes only the messages the handler did not report in
``batchItemFailures``.

A failed message becomes visible again after ``retry_delay`` seconds (Lambda would wait for the
queue's visibility timeout; locally a user should not wait 15 minutes), and after
``MAX_RECEIVE_COUNT`` receives the queue's redrive policy moves it to the dead-letter queue, as
in AWS. A handler that raises fails its whole batch, as in Lambda."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rivalscope_local.lambda_event import LocalLambdaContext, failed_message_ids, sqs_event
from rivalscope_local.queue import queue_depth

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from rivalscope_local.queue import QueueRef

logger = logging.getLogger(__name__)

#: ``handler(event, context)``: the signature of a Lambda handler
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class WorkerStats:
    batches: int = 0
    messages: int = 0
    failed: int = 0
    handler_errors: int = 0


class QueueWorker:
    def __init__(
        self,
        sqs: SQSClient,
        queue: QueueRef,
        handler: Handler,
        *,
        region: str = "us-east-1",
        batch_size: int = 10,
        wait_seconds: int = 1,
        retry_delay: int = 2,
        function_name: str = "rivalscope-analyzer-local",
    ) -> None:
        self._sqs = sqs
        self._queue = queue
        self._handler = handler
        self._region = region
        self._batch_size = batch_size
        self._wait_seconds = wait_seconds
        self._retry_delay = retry_delay
        self._function_name = function_name
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = WorkerStats()

    # -- one poll ---------------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Receive one batch, run the handler on it, settle it; returns the messages received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue.url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            # received messages count as in flight in the queue's depth until settled
            self._busy.set()
            try:
                self._run_batch(messages)
            finally:
                self._busy.clear()
        return len(messages)

    def _run_batch(self, messages: list[Any]) -> None:
        event = sqs_event(messages, self._queue.arn, self._region)
        context = LocalLambdaContext(function_name=self._function_name, region=self._region)
        ids = [m["MessageId"] for m in messages]
        try:
            response = self._handler(event, context)
        except Exception:
            logger.exception("the handler raised: the whole batch of %d fails", len(messages))
            self.stats.handler_errors += 1
            failed = set(ids)
        else:
            failed = failed_message_ids(response, ids)
        self.stats.batches += 1
        self.stats.messages += len(messages)
        self.stats.failed += len(failed)
        for message in messages:
            if message["MessageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue.url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._retry_delay,
                )
            else:
                self._sqs.delete_message(
                    QueueUrl=self._queue.url, ReceiptHandle=message["ReceiptHandle"]
                )

    # -- the thread -------------------------------------------------------------------------------

    def start(self) -> QueueWorker:
        self._thread = threading.Thread(target=self._loop, name="queue-worker", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the endpoint going away at shutdown, or a transient error
                if self._stop.is_set():
                    return
                logger.exception("polling the queue failed; retrying")
                self._stop.wait(1.0)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop polling; a batch already in the handler is allowed to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_drained(
        self,
        timeout: float | None = None,
        *,
        settle: float = 1.5,
        on_tick: Callable[[], None] | None = None,
    ) -> bool:
        """Block until the queue has nothing waiting or in flight, the worker is idle, and it
        stayed so for ``settle`` seconds (a notification may land just after an upload).
        Returns False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        quiet_since: float | None = None
        while deadline is None or time.monotonic() < deadline:
            if on_tick is not None:
                on_tick()
            idle = not self._busy.is_set() and queue_depth(self._sqs, self._queue.url) == 0
            now = time.monotonic()
            if not idle:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle:
                return True
            time.sleep(0.5)
        return False

    def dead_letters(self) -> int:
        return queue_depth(self._sqs, self._queue.dlq_url)
