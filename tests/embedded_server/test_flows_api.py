"""Flow routes and the loading of routines and flows, broken files included."""

from __future__ import annotations


def test_flow_detail_lists_entry_routines_slots_and_events(client):
    flow = client.get("/api/v1/flows/pipeline").json()

    assert flow["entry_routines"] == ["source"]
    assert flow["routines"]["middle"]["slots"] == ["input"]
    assert flow["routines"]["middle"]["events"] == ["output"]
    assert flow["connections"][0]["source_routine"] == "source"


def test_broken_files_are_reported_and_the_rest_loads(client):
    body = client.get("/api/v1/flows").json()
    errors = {e["path"].rsplit("/", 1)[-1]: e for e in body["load_errors"]}

    assert "pipeline" in [flow["flow_id"] for flow in body["flows"]]
    assert (
        "missing module 'overseer_module_that_does_not_exist'"
        in errors["broken_import.py"]["error"]
    )
    assert (
        "RuntimeError: configuration missing on purpose"
        in errors["raises_on_import.py"]["error"]
    )
    assert errors["broken_yaml.yaml"]["kind"] == "flow"
    assert "invalid YAML" in errors["broken_yaml.yaml"]["error"]
    assert "unknown class 'no_such_routine'" in errors["unknown_class.json"]["error"]


def test_unknown_flow_is_404_naming_loaded_flows(client):
    response = client.get("/api/v1/flows/missing")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "FLOW_NOT_FOUND"
    assert "pipeline" in response.json()["message"]


def test_dsl_round_trips_as_yaml_and_json(client):
    yaml_body = client.get("/api/v1/flows/pipeline/dsl").json()
    json_body = client.get(
        "/api/v1/flows/pipeline/dsl", params={"format": "json"}
    ).json()

    assert "flow_id: pipeline" in yaml_body["dsl"]
    assert '"flow_id": "pipeline"' in json_body["dsl"]


def test_discovery_names_capabilities(client):
    body = client.get("/api/v1/").json()

    assert body["name"] == "overseer-embedded-server"
    assert {"cursor", "time_filter", "fields", "event_catch_up"} <= set(
        body["capabilities"]
    )
    assert "evaluate" not in body["capabilities"]


def test_openapi_is_served(client):
    body = client.get("/openapi.json").json()

    assert "/api/v1/jobs" in body["paths"]
