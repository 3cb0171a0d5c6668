"""`phonesys alerts setup` against the real Prefect test server: the automations exist once however
often it runs, and each one delivers a notification to a real local webhook when its event arrives."""

from __future__ import annotations

import uuid

import pytest

from phonesys.ops.alerts import RULES
from phonesys.ops.heartbeats import CRASH_DETECTOR
from tests.opsfixtures import wait_until

pytestmark = pytest.mark.slow


def test_setup_is_idempotent_and_refuses_a_bad_url(alert_hook, cli):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert [len(client.read_automations_by_name(rule.name)) for rule in RULES] == [1, 1, 1]
        [detector] = client.read_automations_by_name(CRASH_DETECTOR)
    assert detector.trigger.posture == "Proactive" and detector.trigger.within.total_seconds() == 90
    assert [action.type for action in detector.actions] == ["change-flow-run-state"]
    refused = cli("alerts", "setup", "--webhook-url", "ftp://example.org/x")
    assert refused.exit_code == 1 and "alert-webhook-url-invalid" in refused.stderr


def _emit(name: str, resource: str, org: str, payload: dict, **related: str) -> None:
    from prefect.events import Event

    from phonesys.ops.events import send

    links = [{"prefect.resource.id": f"phonesys.org.{org}", "prefect.resource.role": "organization"}]
    links += [{"prefect.resource.id": rid, "prefect.resource.role": role} for role, rid in related.items()]
    send(Event(event=name, resource={"prefect.resource.id": resource}, related=links, payload=payload))


def test_a_rejected_request_and_failed_rows_reach_the_webhook(alert_hook):
    org, template = str(uuid.uuid4()), str(uuid.uuid4())
    _emit("phonesys.request.rejected", f"phonesys.request.{org}/june", org,
          {"codes": ["header-missing-column"]})
    _emit("phonesys.template.partially-completed", f"phonesys.template.{template}", org,
          {"assigned": 57, "failed": 3})
    rejected = wait_until(lambda: alert_hook.matching("rejected", org, "header-missing-column"), timeout=90,
                          what="the rejected-request notification")
    assert set(rejected[0]) == {"subject", "body"} and "organization" in rejected[0]["body"]
    failed = wait_until(lambda: alert_hook.matching(template, org, '\\"failed\\": 3'), timeout=90,
                        what="the failed-rows notification")
    assert "57" in failed[0]["body"]


def test_a_failed_phonesys_flow_run_reaches_the_webhook(alert_hook):
    from prefect import flow

    marker = f"broken-{uuid.uuid4().hex[:8]}"

    @flow(name="phonesys-alert-check", flow_run_name=marker)
    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        from prefect import tags

        with tags("phonesys"):
            broken()
    wait_until(lambda: alert_hook.matching(marker, "prefect.flow-run.Failed"), timeout=90,
               what="the failed-run notification")
    assert not alert_hook.matching(marker, "Crashed")
