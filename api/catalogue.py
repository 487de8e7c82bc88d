"""``GET /v2/metrics``: the metric catalogue, straight from the semantic layer's YAML.

A front end learns here which metrics exist, their labels, and which entities'
activity endpoints accept each; a metric added as YAML shows up without code.
Authenticated like the data endpoints (the catalogue is part of the API a
token opens), but the answer is the same for every token, so it is built once
per app: the catalogue does not change while the app runs.
"""

from __future__ import annotations

from typing import Literal

from flask_openapi3 import APIBlueprint
from pydantic import BaseModel, Field

from api.auth import DIRECTORY_TAG, authenticated_blueprint
from daybook.semantic import Catalog
from daybook.semantic.definitions import Entity


class EntityInfo(BaseModel):
    name: str = Field(
        description="Entity name, as in the activity endpoint's path (singular: its plural "
        "is the path segment)"
    )
    label: str
    description: str
    activity_path: str = Field(
        description="Its activity endpoint's path template, e.g. "
        "/v2/clients/{client_id}/analytics/users/{user_id}/activity; the whole client's is "
        "/v2/clients/{client_id}/analytics/activity"
    )
    listed: bool = Field(
        description="Whether the directory lists it under a client (/v2/clients/{client_id}/"
        "<plural>); false for the whole client"
    )


class MetricInfo(BaseModel):
    name: str = Field(description="The value of the activity endpoints' metric parameter")
    label: str = Field(description="The label the series carries")
    description: str
    entities: list[str] = Field(description="The entities whose activity endpoint serves it")
    value_type: Literal["integer", "number"] = Field(
        description=(
            "What the series' values are: `integer` (counts and sums: a whole number, 0 where "
            "nothing happened) or `number` (ratios, averages, derived metrics: a JSON number, "
            "`null` where the metric has no value)"
        )
    )


class MetricCatalogue(BaseModel):
    """Every metric of the YAML catalogue, and the entities they are served for."""

    data: list[MetricInfo]
    entities: list[EntityInfo]


def metric_catalogue(catalog: Catalog) -> dict:
    """Every YAML metric with its label and entities, in the documented JSON shape."""
    data = [
        MetricInfo(
            name=metric.name,
            label=metric.label,
            description=metric.description,
            entities=[name for name in metric.entities if name in catalog.entities],
            value_type=metric.value_type,
        )
        for metric in catalog.metrics.values()
    ]
    listed = {entity.name for entity in catalog.registry.listed_entities()}
    entities = [
        EntityInfo(
            name=entity.name,
            label=entity.label,
            description=entity.description,
            activity_path=activity_path_template(entity),
            listed=entity.name in listed,
        )
        for entity in catalog.entities.values()
    ]
    return MetricCatalogue(data=data, entities=entities).model_dump(mode="json")


def activity_path_template(entity: Entity) -> str:
    """The entity's activity route as documented (``api.activity`` declares the same)."""
    if entity.key == entity.tenant_key:
        return "/v2/clients/{client_id}/analytics/activity"
    return f"/v2/clients/{{client_id}}/analytics/{entity.plural}/{{{entity.name}_id}}/activity"


def catalogue_blueprint(catalog: Catalog) -> APIBlueprint:
    """The catalogue endpoint; its answer is computed here, once."""
    # Documented under the directory tag, beside the other endpoints a front end browses.
    blueprint = authenticated_blueprint("catalogue", __name__, DIRECTORY_TAG)
    answer = metric_catalogue(catalog)

    @blueprint.get(
        "/metrics",
        operation_id="listMetrics",
        summary="Metric catalogue",
        description="Every metric of the semantic layer's YAML, with its label and the "
        f"entities ({', '.join(catalog.entities)}) whose activity endpoint accepts it.",
        responses={200: MetricCatalogue},
        provide_automatic_options=False,
    )
    def list_metrics() -> dict:
        return answer

    return blueprint
