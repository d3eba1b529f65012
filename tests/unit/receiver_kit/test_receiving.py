"""Receiving: a signature is checked (fresh on receipt, any age later), a message is stored once by webhook-id."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth0_log_webhooks.http.signing import signature_headers
from auth0_log_webhooks.receiver_kit.receiving import MessageStore, Receiver, SignatureChecker

pytestmark = pytest.mark.unit

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BODY = '[{"log_id":"9001"}]'


def signed(webhook_id: str = "msg_1", body: str = BODY, at: datetime | None = None) -> dict[str, str]:
    return signature_headers([SECRET], webhook_id, at or datetime.now(UTC), body)


def test_a_message_delivered_twice_is_stored_once(tmp_path: Path) -> None:
    receiver = Receiver(MessageStore(tmp_path), [SECRET])

    receipts = [receiver.receive(signed(), BODY.encode()).verdict for _ in range(2)]

    assert receipts == ["stored", "duplicate"]
    assert [m.webhook_id for m in receiver.store.messages()] == ["msg_1"]


def test_a_message_with_a_bad_signature_is_refused_and_not_stored(tmp_path: Path) -> None:
    receiver = Receiver(MessageStore(tmp_path), [SECRET])

    receipt = receiver.receive(signed(), b'[{"log_id":"9002"}]')

    assert (receipt.verdict, receipt.problem) == ("refused", "bad signature: No matching signature found")
    assert list(receiver.store.messages()) == []


@pytest.mark.parametrize("webhook_id", ["../escape", "", "a/b", "x" * 201], ids=["dots", "empty", "slash", "long"])
def test_a_webhook_id_that_cannot_name_a_file_in_the_folder_is_refused(tmp_path: Path, webhook_id: str) -> None:
    receipt = Receiver(MessageStore(tmp_path / "in")).receive({"webhook-id": webhook_id}, BODY.encode())

    assert receipt.verdict == "refused"
    assert not (tmp_path / "escape.json").exists()


def test_an_old_stored_message_still_verifies_when_checked_later_but_not_on_receipt() -> None:
    checker = SignatureChecker([SECRET])
    headers = signed(at=datetime.now(UTC) - timedelta(days=3))

    assert checker.problem(BODY.encode(), headers) is not None
    assert checker.problem(BODY.encode(), headers, fresh=False) is None
    assert checker.problem(b"[]", headers, fresh=False) == "No matching signature found"


def test_any_of_several_secrets_verifies_while_rotating() -> None:
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()

    assert SignatureChecker([other, SECRET]).problem(BODY.encode(), signed()) is None


def test_a_secret_that_is_not_whsec_is_named_by_position_never_by_value() -> None:
    with pytest.raises(ValueError, match="secret #2 is not a valid whsec_ secret") as raised:
        SignatureChecker([SECRET, "whsec_!!not-base64!!"])

    assert "not-base64" not in str(raised.value)


HEADER_NAMES = st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "webhook-kind", "x"])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    headers=st.dictionaries(HEADER_NAMES, st.text(max_size=60), max_size=5),
    body=st.binary(max_size=200),
)
def test_any_delivery_gets_a_receipt_and_only_a_verified_one_is_stored(
    tmp_path: Path, headers: dict[str, str], body: bytes
) -> None:
    store = MessageStore(tmp_path / "any")
    before = {m.webhook_id for m in store.messages()}

    receipt = Receiver(store, [SECRET]).receive(headers, body)

    assert receipt.verdict in ("stored", "duplicate", "refused")
    assert {m.webhook_id for m in store.messages()} == before  # nothing unsigned gets in


def test_a_file_in_the_folder_that_is_not_a_message_is_skipped(tmp_path: Path) -> None:
    store = MessageStore(tmp_path)
    store.put(signed(), BODY.encode())
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"webhook_id": "x"}')

    assert [m.webhook_id for m in store.messages()] == ["msg_1"]
