"""Standard Webhooks headers, checked with the reference library a receiver would use."""

import base64
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from auth0_log_webhooks.http.signing import signature_headers

pytestmark = pytest.mark.unit

BODY = '[{"log_id":"9002026112605000000000000000000000000000000000000000001","type":"s"}]'


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def test_a_receiver_verifies_the_signature_when_one_secret_is_set() -> None:
    secret = new_secret()
    headers = signature_headers([secret], "msg_abc", datetime.now(UTC), BODY)
    assert Webhook(secret).verify(BODY, headers) == [
        {"log_id": "9002026112605000000000000000000000000000000000000000001", "type": "s"}
    ]


def test_the_headers_carry_the_id_and_the_attempts_unix_time() -> None:
    moment = datetime(2026, 11, 26, 5, 0, 7, tzinfo=UTC)
    headers = signature_headers([new_secret()], "msg_abc", moment, BODY)
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == str(int(moment.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize(
    "zone",
    [timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)), None],
    ids=["utc+2", "utc-5", "naive-utc"],
)
def test_a_receiver_verifies_the_signature_when_the_attempt_time_is_not_in_utc(zone: timezone | None) -> None:
    # The reference library signs the wall clock as UTC: the header and the signature must agree.
    now = datetime.now(UTC)  # built here, not at collection: a slow collection must not age it
    moment = now.astimezone(zone) if zone else now.replace(tzinfo=None)
    secret = new_secret()
    headers = signature_headers([secret], "msg_abc", moment, BODY)
    Webhook(secret).verify(BODY, headers)
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60


def test_a_receiver_rejects_the_signature_when_the_body_was_changed() -> None:
    secret = new_secret()
    headers = signature_headers([secret], "msg_abc", datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace('"s"', '"f"'), headers)


def test_each_secret_gets_its_own_signature_when_secrets_are_rotated() -> None:
    old, new = new_secret(), new_secret()
    headers = signature_headers([old, new], "msg_abc", datetime.now(UTC), BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret in (old, new):  # a receiver holding either secret accepts the message
        Webhook(secret).verify(BODY, headers)
    for mine, other in ((signatures[0], new), (signatures[1], old)):  # each signature is its own secret's
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(BODY, {**headers, "webhook-signature": mine})


def test_no_signature_header_is_sent_when_no_secret_is_set() -> None:
    moment = datetime.now(UTC)
    headers = signature_headers([], "msg_abc", moment, BODY)
    assert headers == {"webhook-id": "msg_abc", "webhook-timestamp": str(int(moment.timestamp()))}
