"""The dev Airflow's bodies for airflow_settings.yaml entries pass the REST API's own request models.

A pool that exists already is PATCHed (a retried POST got 409); Airflow checks the patched pool as a whole.
"""

from __future__ import annotations

import pytest
import yaml
from airflow.api_fastapi.core_api.datamodels.pools import BasePool, PoolBody, PoolPatchBody

from dev.airflow_env import REPO, pool_json

pytestmark = pytest.mark.dev


def shipped_pools() -> list[dict[str, object]]:
    """Return the pool entries of the project's airflow_settings.yaml."""
    pools: list[dict[str, object]] = yaml.safe_load((REPO / "airflow_settings.yaml").read_text())["airflow"]["pools"]
    return pools


@pytest.mark.parametrize("entry", shipped_pools(), ids=lambda entry: str(entry["pool_name"]))
def test_a_pool_body_creates_and_patches_the_pool(entry: dict[str, object]) -> None:
    body = pool_json(entry)

    created = PoolBody.model_validate(body)
    patch = PoolPatchBody.model_validate(body)
    # What PATCH /pools/{name} validates (airflow's services/public/pools.py): the fields set, by their aliases.
    patched = BasePool.model_validate(patch.model_dump(include=patch.model_fields_set, by_alias=True))

    assert (created.pool, created.slots) == (entry["pool_name"], entry["pool_slot"])
    assert (patched.pool, patched.slots, patched.include_deferred) == (entry["pool_name"], entry["pool_slot"], False)
