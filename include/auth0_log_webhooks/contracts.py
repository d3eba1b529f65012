"""What crosses a task boundary: plain-JSON shapes that XCom and the staging files carry.

Each is a :class:`~typing.TypedDict`, so a value is an ordinary ``dict`` on the wire (XCom, JSON
files) and a typed record in the code. Through XCom go only what a :class:`FetchResult` holds (the
staging root and one :class:`Chunk` per mapped delivery task), the tasks' reports and the replay's
:class:`ReplayChunk` list; the :class:`Plan`, the batches and the ledger's :class:`BatchOutcome`
records wait in the run's staging (see :mod:`auth0_log_webhooks.run.staging`). The fetch resolves
the run's settings once and writes them into the plan; no later task reads the config Variable.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

ReadMode = Literal["checkpoint", "window", "one_off"]
"""``checkpoint``: read after the pipeline's checkpoint and commit it; ``window``: a backfill's period;
``one_off``: a run whose params change what is selected or where reading starts: it delivers and
never commits the checkpoint."""

BatchStatus = Literal["delivered", "dead_lettered"]


class BatchRange(TypedDict):
    """One staged batch: how many logs it holds and its first and last log id."""

    count: int
    first: str
    last: str


class Chunk(TypedDict):
    """The batches ``[start, stop)`` one mapped delivery task sends, and its label in the UI."""

    chunk: int
    start: int
    stop: int
    label: str
    generation: int
    """The fetch attempt (try number) that staged these batches; a task of an older one is refused."""
    staging_url: str
    """The staging root the run's fetch resolved (``staging_url`` or the local default): where the plan is."""


class FetchResult(TypedDict):
    """What a fetch staged: the staging root, the delivery tasks' chunks, and the 429 answers of Auth0
    it waited out. The fetch task returns the chunks (the delivery tasks are mapped over them) and keeps
    the rest as XComs of their own for the commit."""

    staging_url: str
    chunks: list[Chunk]
    answers_429: int
    lane: DeliveryReport | None
    """What the fetch's delivery lane sent while it read (``deliver_while_fetching``), else None."""


class Plan(TypedDict):
    """What a fetch staged and the settings its run delivers with (``plan.json`` in the run's staging)."""

    mode: ReadMode
    start_cursor: str
    end_cursor: str | None
    fetched: int
    selected: int
    batches: list[BatchRange]
    note: str
    created_at: str
    config: dict[str, Any]
    generation: int
    """The fetch attempt (its try number) whose batches and ledger this plan describes."""
    checkpoint_at_fetch: str | None
    """The checkpoint Variable's value when the fetch read it: commit moves it only from there."""
    repaired: int
    """Logs whose text could not be encoded (lone surrogates) and were repaired with U+FFFD."""
    more_to_read: NotRequired[bool]
    """Reading stopped at ``max_logs_per_run`` with more logs waiting (absent in older plans: False)."""
    live: NotRequired[bool]
    """Event mode: the fetch read a log the pipeline did not cause, dated after the run was asked for (absent: no)."""
    filtered: NotRequired[int]
    """Logs read and left out by the filter or the backfill window, counted apart from ``selected`` (absent in
    older plans) so that the run's reconciliation checks the two against ``fetched``."""


class SentMessage(TypedDict):
    """One message of a settled batch: its ``webhook-id``, its log count, first and last log id, and whether
    the receiver took it or it was kept as a dead letter (a completeness manifest lists these)."""

    webhook_id: str
    count: int
    first: str
    last: str
    status: BatchStatus


class BatchOutcome(TypedDict):
    """A settled batch, as the delivery ledger records it: which batch (its generation, count, first
    and last log id, so a marker never settles a batch cut differently), and what became of its logs."""

    status: BatchStatus
    generation: int
    count: int
    first: str
    last: str
    delivered_logs: int
    dead_lettered_logs: int
    dead_letters: list[str]
    messages: NotRequired[list[SentMessage]]
    """The batch's messages in the order sent (absent in markers written before 0.3.0)."""
    carried_from: NotRequired[int]
    """The earlier fetch try (generation) that sent the batch, when a retried fetch did not send it again."""


class DeliveryReport(TypedDict):
    """What one mapped delivery task did."""

    chunk: int
    batches: int
    skipped: int
    delivered_logs: int
    dead_lettered_logs: int
    requests: int
    answers_429: int
    """429 answers of the webhook this task waited out (for the run's asset event and the health page)."""


class RunSummary(TypedDict):
    """What a run delivered and where its checkpoint stands (``None`` for a backfill window)."""

    batches: int
    settled_batches: int
    delivered_logs: int
    dead_letters: int
    checkpoint: str | None
    more_to_read: bool
    """The checkpoint moved and the tenant has more after it: the next run should start at once."""
    live: NotRequired[bool]
    """Event mode: the checkpoint moved and logs kept arriving while the run read: the next run should start at once."""
    read: NotRequired[int]
    """Logs the run's fetch read (the reconciliation's counts; absent in summaries of older versions)."""
    filtered: NotRequired[int]
    """Logs read and left out by the filter or the backfill window."""
    dead_lettered_logs: NotRequired[int]
    """Logs in the messages kept as dead letters (``dead_letters`` counts the messages)."""
    unsettled_logs: NotRequired[int]
    """Logs of planned batches no ledger marker settles: the next run reads them again."""


class ReplayChunk(TypedDict):
    """The dead letters one mapped replay task re-sends, through its pipeline's pool."""

    pipeline: str
    pool: str
    entries: list[str]
    label: str
    config: dict[str, Any]
    """The pipeline's settings as the replay's ``choose`` task resolved them (every resend task uses these)."""


class ReplayReport(TypedDict):
    """What replaying dead letters did: entries delivered and removed, entries still failing."""

    delivered: int
    still_failing: int
    logs_delivered: int
