"""Check stored messages against the manifests: what is missing, what waits for a replay, whether the chain holds.

Per pipeline, the manifests held must run 1, 2, 3, ... with each ``previous_hash`` equal to the
hash of the one before: a gap in the numbers is a manifest (and so a run) the receiver does not
hold; a hash that does not match, or two manifests with the same number, a forked chain. Every
message a manifest lists must be held; a message it lists as a dead letter is held once the
sender replays it (same ``webhook-id``). The chain says nothing about runs after the newest
manifest held: :func:`render` names that run and when it was committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from auth0_log_webhooks.receiver_kit.manifest import Manifest, ManifestError, MessageEntry, parse
from auth0_log_webhooks.receiver_kit.receiving import MessageStore, SignatureChecker, StoredMessage


@dataclass(frozen=True)
class Absent:
    """A message a manifest lists that the store does not hold, with the run and manifest that list it."""

    entry: MessageEntry
    run_id: str
    sequence: int


@dataclass
class PipelineReport:
    """One pipeline's manifests held, the breaks in their chain, and the messages they list that are absent."""

    pipeline: str
    manifests: list[Manifest] = field(default_factory=list)
    chain_breaks: list[str] = field(default_factory=list)
    listed: int = 0
    listed_logs: int = 0
    missing: list[Absent] = field(default_factory=list)
    awaiting_replay: list[Absent] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Return True if the chain is intact and every message listed (dead letters included) is held."""
        return not (self.chain_breaks or self.missing or self.awaiting_replay)


@dataclass
class CheckReport:
    """The whole store's check: a report per pipeline, and the stored messages that could not count."""

    pipelines: dict[str, PipelineReport] = field(default_factory=dict)
    bad_signatures: list[str] = field(default_factory=list)
    bad_manifests: list[str] = field(default_factory=list)
    log_messages: int = 0
    signatures_checked: bool = False

    @property
    def complete(self) -> bool:
        """Return True if there is a manifest, every pipeline is complete and no stored message was refused."""
        return bool(self.pipelines) and not self.bad_manifests and all(p.complete for p in self.pipelines.values())


def check(store: MessageStore, secrets: Sequence[str] = ()) -> CheckReport:
    """Check every message of ``store`` (signatures too, when ``secrets`` are given) against its manifests.

    A message whose signature does not verify counts as not held, so a forged one cannot fill a gap.

    :raises ValueError: if a secret is not a ``whsec_`` secret.
    """
    checker = SignatureChecker(secrets)
    report = CheckReport(signatures_checked=checker.enabled)
    held: set[str] = set()
    manifests: list[Manifest] = []
    for message in store.messages():
        if checker.enabled and checker.problem(message.body.encode(), message.headers, fresh=False) is not None:
            report.bad_signatures.append(message.webhook_id)
            continue
        held.add(message.webhook_id)
        if message.is_manifest:
            manifest = _manifest(message, report)
            if manifest is not None:
                manifests.append(manifest)
        else:
            report.log_messages += 1
    for manifest in sorted(manifests, key=lambda m: (m.pipeline, m.sequence, m.hash)):
        pipeline = report.pipelines.setdefault(manifest.pipeline, PipelineReport(manifest.pipeline))
        pipeline.manifests.append(manifest)
    for pipeline in report.pipelines.values():
        _check_chain(pipeline)
        _check_listed(pipeline, held)
    return report


def _manifest(message: StoredMessage, report: CheckReport) -> Manifest | None:
    try:
        return parse(message.body)
    except ManifestError as exc:
        report.bad_manifests.append(f"{message.webhook_id}: {exc}")
        return None


def _check_chain(report: PipelineReport) -> None:
    """Record every gap and fork in the pipeline's chain (its manifests are sorted by sequence)."""
    previous: Manifest | None = None
    for manifest in report.manifests:
        if previous is None:
            if manifest.sequence != 1:
                report.chain_breaks.append(
                    f"manifests 1 to {manifest.sequence - 1} are not held: the runs before {manifest.run_id} are "
                    "unaccounted for"
                )
        elif manifest.sequence == previous.sequence:
            report.chain_breaks.append(
                f"two manifests carry number {manifest.sequence} (runs {previous.run_id} and {manifest.run_id}): "
                "the chain forked"
            )
        elif manifest.sequence > previous.sequence + 1:
            report.chain_breaks.append(
                f"manifests {previous.sequence + 1} to {manifest.sequence - 1} are not held: runs between "
                f"{previous.run_id} and {manifest.run_id} are unaccounted for"
                if manifest.sequence > previous.sequence + 2
                else f"manifest {previous.sequence + 1} is not held: a run between {previous.run_id} and "
                f"{manifest.run_id} is unaccounted for"
            )
        elif manifest.previous_hash != previous.hash:
            report.chain_breaks.append(
                f"manifest {manifest.sequence} (run {manifest.run_id}) does not follow manifest {previous.sequence} "
                f"(run {previous.run_id}): its previous_hash is another manifest's, so the chain forked"
            )
        previous = manifest


def _check_listed(report: PipelineReport, held: set[str]) -> None:
    seen: set[str] = set()
    for manifest in report.manifests:
        for entry in manifest.messages:
            if entry.webhook_id not in seen:
                seen.add(entry.webhook_id)
                report.listed += 1
                report.listed_logs += entry.log_count
                if entry.webhook_id not in held:
                    report.missing.append(Absent(entry, manifest.run_id, manifest.sequence))
        for entry in manifest.dead_letters:
            if entry.webhook_id not in held and entry.webhook_id not in seen:
                report.awaiting_replay.append(Absent(entry, manifest.run_id, manifest.sequence))


def render(report: CheckReport, *, limit: int = 100) -> str:
    """Return the report as sentences a person reads: per pipeline, the chain, then each message absent."""
    lines: list[str] = []
    if not report.signatures_checked:
        lines.append("Signatures were not checked: no secret was given (set WEBHOOK_SECRET or pass --secret).")
    if report.bad_signatures:
        lines.append(
            f"{len(report.bad_signatures)} stored messages do not verify with the secrets given and count as not "
            f"held: {', '.join(report.bad_signatures[:5])}{' ...' if len(report.bad_signatures) > 5 else ''}."
        )
    lines += [f"Unreadable manifest {problem}." for problem in report.bad_manifests]
    if not report.pipelines:
        lines.append(
            f"No manifest is held ({report.log_messages} messages of logs are): nothing can be checked. Turn on "
            "completeness_manifests for the pipeline, and check again after its next run."
        )
    for pipeline in report.pipelines.values():
        lines += _render_pipeline(pipeline, limit)
    lines.append(
        "Complete: every message listed is held and the chain is intact." if report.complete else "Incomplete."
    )
    return "\n".join(lines)


def _render_pipeline(report: PipelineReport, limit: int) -> list[str]:
    newest = report.manifests[-1]
    lines = [
        f"Pipeline {report.pipeline}: {len(report.manifests)} manifests held, numbers {report.manifests[0].sequence} "
        f"to {newest.sequence}; the newest is of run {newest.run_id}, committed at {newest.created_at} (runs after it "
        "are not covered until their manifests arrive).",
        f"  The chain {'is intact' if not report.chain_breaks else 'is broken'}.",
    ]
    lines += [f"  Chain: {problem}." for problem in report.chain_breaks]
    lines.append(
        f"  The manifests list {report.listed:,} messages ({report.listed_logs:,} logs); "
        f"{report.listed - len(report.missing):,} are held and {len(report.missing):,} are missing."
    )
    for absent in report.missing[:limit]:
        lines.append(f"  Missing {_describe(absent)}.")
    if report.missing:
        lines.append(
            "  Ask the sender to send them again: it can trace each by its first log id "
            "(python -m auth0_log_webhooks trace <log_id>)."
        )
    if report.awaiting_replay:
        lines.append(
            f"  {len(report.awaiting_replay)} messages were kept by the sender as dead letters and are not held yet; "
            "they arrive with the same webhook-id when the sender replays them:"
        )
        lines += [f"  Dead letter {_describe(absent)}." for absent in report.awaiting_replay[:limit]]
    return lines


def _describe(absent: Absent) -> str:
    entry = absent.entry
    return (
        f"{entry.webhook_id}: {entry.log_count:,} logs, {entry.first_log_id} to {entry.last_log_id}, "
        f"run {absent.run_id} (manifest {absent.sequence})"
    )
