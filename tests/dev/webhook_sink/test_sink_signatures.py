"""Standard Webhooks signature verification (signed with the reference library)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.dev.webhook_sink.sink_helpers import OTHER_SECRET, SECRET, sign
from tests.fixture_types import SinkFactory

pytestmark = pytest.mark.dev

BODY = json.dumps([{"log_id": "sig1"}, {"log_id": "sig2"}], separators=(",", ":")).encode()


def test_delivery_is_accepted_when_signature_is_valid(webhook_sink_factory: SinkFactory) -> None:
    sink = webhook_sink_factory(secrets=[SECRET])

    response = requests.post(sink.hook_url, data=BODY, headers=sign(BODY), timeout=5)

    assert response.status_code == 200
    assert sink.log_ids() == ["sig1", "sig2"]


def test_signature_covers_uncompressed_body_when_gzipped(webhook_sink_factory: SinkFactory) -> None:
    sink = webhook_sink_factory(secrets=[SECRET])
    headers = {**sign(BODY), "content-encoding": "gzip"}

    response = requests.post(sink.hook_url, data=gzip.compress(BODY), headers=headers, timeout=5)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "signer_kwargs", "drop"),
    [
        pytest.param(BODY.replace(b"sig2", b"sig3"), {}, None, id="tampered-body"),
        pytest.param(BODY, {"secret": OTHER_SECRET}, None, id="wrong-secret"),
        pytest.param(BODY, {"skew": timedelta(minutes=-10)}, None, id="old-timestamp"),
        pytest.param(BODY, {"skew": timedelta(minutes=10)}, None, id="future-timestamp"),
        pytest.param(BODY, {}, "webhook-signature", id="missing-signature"),
    ],
)
def test_delivery_is_rejected_401_when_signature_is_bad(
    webhook_sink_factory: SinkFactory, body: Any, signer_kwargs: dict[str, Any], drop: str | None
) -> None:
    sink = webhook_sink_factory(secrets=[SECRET])
    if "skew" in signer_kwargs:  # relative to when the test runs, not to when it was collected
        signer_kwargs = {"at": datetime.now(UTC) + signer_kwargs["skew"]}
    headers = sign(BODY, **signer_kwargs)
    if drop:
        headers.pop(drop)

    response = requests.post(sink.hook_url, data=body, headers=headers, timeout=5)

    assert response.status_code == 401
    summary = sink.summary()
    assert (summary["bad_signatures"], summary["accepted_requests"]) == (1, 0)
    assert sink.requests()[0]["why"] == "bad signature"


@pytest.mark.parametrize("signing_secret", [SECRET, OTHER_SECRET], ids=["old-secret", "new-secret"])
def test_delivery_is_accepted_when_any_rotated_secret_verifies(
    webhook_sink_factory: SinkFactory, signing_secret: str
) -> None:
    sink = webhook_sink_factory(secrets=[SECRET, OTHER_SECRET])

    response = requests.post(sink.hook_url, data=BODY, headers=sign(BODY, secret=signing_secret), timeout=5)

    assert response.status_code == 200


def test_delivery_is_accepted_when_one_of_several_signatures_matches(webhook_sink_factory: SinkFactory) -> None:
    sink = webhook_sink_factory(secrets=[OTHER_SECRET])
    headers = sign(BODY)
    headers["webhook-signature"] += " " + sign(BODY, secret=OTHER_SECRET)["webhook-signature"]

    response = requests.post(sink.hook_url, data=BODY, headers=headers, timeout=5)

    assert response.status_code == 200


def test_sink_refuses_to_start_when_secret_is_invalid(webhook_sink_factory: SinkFactory) -> None:
    with pytest.raises(ValueError, match="secret #1"):
        webhook_sink_factory(secrets=["whsec_"])
