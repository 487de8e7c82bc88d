"""The generated OpenAPI document, and schemathesis fuzzing the served app against it."""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.experimental import OPEN_API_3_1

from daybook.semantic import load_catalog


def operation(document: dict, entity: str) -> dict:
    return document["paths"][
        f"/v2/clients/{{client_id}}/analytics/{entity}s/{{{entity}_id}}/activity"
    ]["get"]


@pytest.mark.parametrize("entity", ["user", "device"])
def test_the_metric_enum_of_each_endpoint_comes_from_the_yaml_catalogue(api, entity):
    document = api.get("/v2/openapi.json").json()
    parameters = {p["name"]: p for p in operation(document, entity)["parameters"]}
    expected = [metric.name for metric in load_catalog().metrics_for(entity)]
    assert parameters["metric"]["schema"]["enum"] == expected
    assert parameters["metric"]["required"] is True
    assert parameters["granularity"]["required"] is False
    assert parameters["granularity"]["schema"]["enum"] == [
        "daily",
        "weekly",
        "monthly",
        "quarterly",
    ]
    assert parameters["granularity"]["schema"]["default"] == "daily"
    assert parameters["client_id"]["in"] == "path"


@pytest.mark.parametrize("entity", ["user", "device"])
def test_every_status_of_the_error_table_is_documented_with_the_error_shape(api, entity):
    document = api.get("/v2/openapi.json").json()
    responses = operation(document, entity)["responses"]
    assert set(responses) == {"200", "400", "401", "403", "404", "429", "500"}
    for status in ("400", "401", "403", "404", "429", "500"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    assert operation(document, entity)["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_docs_page_is_served(served):
    response = served.get("/v2/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert served.get("/v2/swagger/css/swagger-ui.css").status_code == 200


def test_schemathesis_finds_no_server_error_and_every_response_matches_the_document(served):
    """Positive and negative cases for each operation, all of schemathesis' checks."""
    OPEN_API_3_1.enable()
    schema = schemathesis.from_uri(served.url + "/v2/openapi.json", base_url=served.url)
    headers = {"Authorization": f"Bearer {served.token()}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 2
    methods = [
        schemathesis.DataGenerationMethod.positive,
        schemathesis.DataGenerationMethod.negative,
    ]
    for api_operation, method in itertools.product(operations, methods):
        has_parameters = bool(api_operation.path_parameters or api_operation.query)
        if method == schemathesis.DataGenerationMethod.negative and not has_parameters:
            continue  # nothing to make invalid

        @given(case=api_operation.as_strategy(data_generation_method=method))
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            # Passed here (not set on the case) so schemathesis knows the token is explicit
            # and its ignored_auth check retries without it and with a wrong one.
            case.call_and_validate(headers=headers, timeout=30)

        try:
            check()
        except Exception as error:
            raise AssertionError(f"{api_operation.verbose_name} {method}") from error
