"""The fetch's delivery lane: with ``deliver_while_fetching`` on, batches leave while the fetch still reads.

Airflow maps the delivery tasks only once the fetch task has ended, so without the lane no batch
leaves before the last page is read. The lane is one thread of the fetch task that sends each
batch as soon as it is staged, one request at a time (the fetch task takes one slot of the
pipeline's pool, as a delivery task does), and settles it in the ledger exactly as a delivery task
would (:class:`~auth0_log_webhooks.steps.deliver.BatchSender`): same generation, same markers, same
webhook-ids. When reading ends the lane finishes what is left if that is at most
``min_batches_per_task`` batches (fewer than a delivery task is worth starting), else it stops after
the batch in hand; the fetch then plans delivery tasks for the batches after the lane's, and the
commit reads the plan and the ledger as before: the checkpoint still moves only past a settled
prefix.

The lane settles a batch as a delivery task would: a message the receiver refuses for good is kept
as a dead letter (the fetch's log names it, and the commit fails naming the fetch's log), and every
failure counts towards the run's circuit. When the circuit opens, or when sending raises an error
(the webhook connection is missing, say), the lane stops, says so in the fetch's log, and hands the
rest to the delivery tasks, which fail with their own advice if the error persists. Only the
process dying stops the fetch itself.

A retried fetch stages a new generation, as without the lane, but does not send again what the lane
(or the delivery tasks) of an earlier try settled: as each batch is staged, a batch an earlier try
settled with the same webhook-ids (the same logs in the same messages) is settled in the new
generation's ledger with the earlier outcome (:mod:`~auth0_log_webhooks.steps.carry_over`, the rule in
:class:`~auth0_log_webhooks.steps.carry_over.EarlierTries`), and the lane counts it as settled without
sending it (its report's ``skipped``); the fetch's log says how many batches and logs that was. A
batch cut differently (the logs or the settings changed) is sent. Only a batch an earlier try was
sending when it died, not yet settled, is sent twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from auth0_log_webhooks.contracts import BatchRange
from auth0_log_webhooks.delivery.circuit import CircuitOpenError
from auth0_log_webhooks.run.staging import FETCH, SupersededTryError
from auth0_log_webhooks.steps.deliver import BatchSender, empty_report
from auth0_log_webhooks.wording import plural

log = logging.getLogger(__name__)

LANE_CHUNK = 1024
"""The lane's name in the run's circuit breaker: past every mapped task's chunk number (0 to 1023)."""

_END = -1


class DeliveryLane:
    """Send staged batches in order from a thread of their own while the fetch reads on.

    :meth:`staged` is called by the stager after each batch is written; :meth:`finish` once reading
    ended, before the plan is written. Batches ``[0, settled)`` are then settled in the ledger.
    """

    def __init__(
        self, open_batches: Callable[[], BatchSender], drain_at_most: int, *, hold_from: int | None = None
    ) -> None:
        """Start the lane's thread.

        :param hold_from: a seam for the model test, which needs one interleaving per example: the lane
            sends batches before ``hold_from`` while the fetch waits for each, and holds the rest until
            reading ended. None (the pipeline's way): the lane sends whatever is staged, as fast as it can.
        """
        self._open = open_batches
        self._hold_from = hold_from
        self._progress = threading.Condition()
        self._reading_ended = threading.Event()
        self.batches: BatchSender | None = None
        self.drain_at_most = drain_at_most
        self.report = empty_report(LANE_CHUNK)
        self.settled = 0
        self.stopped: str | None = None
        self._waiting: queue.SimpleQueue[tuple[int, BatchRange | None, bool]] = queue.SimpleQueue()
        self._queued = 0
        self._stop = threading.Event()
        self._died: BaseException | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._send, name="delivery-lane", daemon=True)
        self._thread.start()

    def staged(self, index: int, batch: BatchRange, settled: bool = False) -> None:
        """Queue batch ``index``, just staged, for sending (``settled``: an earlier try of the fetch sent it, and
        it is settled in this try's ledger already; the lane counts it without sending it).

        :raises BaseException: what killed the lane's thread outside an ``Exception`` (the process is going down).
        """
        self._raise_if_died()
        if self.stopped is None:
            self._waiting.put((index, batch, settled))
            self._queued += 1
        if self._hold_from is not None and index < self._hold_from:
            with self._progress:
                self._progress.wait_for(lambda: self.settled > index or self._ended)
            self._raise_if_died()

    def finish(self) -> int:
        """Let the lane finish the batches left if they are few, else the batch in hand; return how many
        batches, from the first, the lane settled.

        :raises BaseException: what killed the lane's thread outside an ``Exception``.
        """
        left = self._queued - self.settled
        if left > self.drain_at_most:
            self._stop.set()
        self._reading_ended.set()
        self._waiting.put((_END, None, False))
        self._thread.join()
        self._raise_if_died()
        if self.batches is not None:
            self.batches.close(self.report)
        if self.stopped is None and self.settled < self._queued:
            self.stopped = (
                f"reading ended with {plural(left, 'batch', 'batches')} not yet sent, more than "
                f"min_batches_per_task={self.drain_at_most}, so the delivery tasks send them in parallel"
            )
        log.info("%s", self.sentence())
        return self.settled

    def abandon(self) -> None:
        """Stop the lane after the batch in hand, because the fetch failed: what it settled stays in the ledger
        of a generation no plan will name, so nothing of it is committed."""
        self._stop.set()
        self._reading_ended.set()
        self._waiting.put((_END, None, False))
        self._thread.join()

    def sentence(self) -> str:
        """Return what the lane did, as a sentence of the fetch's log."""
        report = self.report
        if self._queued == 0 and self.stopped is None:
            return "The run selected no log, so the delivery lane had nothing to send."
        text = (
            f"While reading, delivered {plural(report['delivered_logs'], 'log')} in "
            f"{plural(report['batches'], 'batch', 'batches')} with {plural(report['requests'], 'request')}"
        )
        if report["dead_lettered_logs"]:
            text += f" and kept {plural(report['dead_lettered_logs'], 'log')} as dead letters"
        if report["skipped"]:
            text += f", and passed over {plural(report['skipped'], 'batch', 'batches')} an earlier try had settled"
        if self.stopped:
            text += f"; the lane stopped: {self.stopped}"
        return text + "."

    def _send(self) -> None:
        previous_end = time.monotonic()  # the fetch's checks since then stand for the lane's (see stop_if_superseded)
        try:
            while not self._stop.is_set():
                index, batch, settled = self._waiting.get()
                if self._hold_from is not None and index >= self._hold_from:
                    self._reading_ended.wait()
                if batch is None or self._stop.is_set():
                    return
                if settled:
                    self.report["skipped"] += 1
                else:
                    if self.batches is None:  # opened at the first batch sent: a run sending none needs no webhook
                        self.batches = self._open()
                    staging = self.batches.staging  # a newer try of the fetch took the run over: send nothing more
                    staging.stop_if_superseded(
                        FETCH, staging.generation, f"sending batch {index + 1}", unless_confirmed_after=previous_end
                    )
                    self.batches.send(index, batch, self.report)
                previous_end = time.monotonic()
                with self._progress:
                    self.settled = index + 1
                    self._progress.notify_all()
        except CircuitOpenError as exc:
            self.stopped = f"{exc}".splitlines()[0] + " The delivery tasks meet the circuit and say what to do"
        except SupersededTryError as exc:  # the fetch itself stops at its next write, with the same words
            self.stopped = str(exc).rstrip(".")
        except Exception as exc:  # handed over: the delivery tasks send the rest and fail with their own advice
            # Its type only: the text of a transport error may hold the webhook's URL; the delivery tasks log it whole.
            self.stopped = (
                f"sending batch {self.settled + 1} raised {type(exc).__name__}; the delivery tasks send it and the "
                "rest, and say what went wrong if it happens again"
            )
        except BaseException as exc:  # the process is going down (a kill): the fetch goes with it
            self._died = exc
        finally:
            self._stop.set()
            with self._progress:
                self._ended = True
                self._progress.notify_all()

    def _raise_if_died(self) -> None:
        if self._died is not None:
            raise self._died
