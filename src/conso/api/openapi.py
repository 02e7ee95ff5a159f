"""The API's OpenAPI document (/openapi.json): FastAPI's, completed and in OpenAPI 3.0.

What FastAPI derives from the routes (paths, parameters, request models with their
bounds and patterns, the answers and problem+json errors the routes declare) is
completed here with what only the running server knows: the plan ids of its catalogue
and the spending limits it offers, and the ProblemDetails schema every error refers to.

The document is OpenAPI 3.0.3, whose schemas say `integer` for a JSON number written
without a fraction: conso's request models are strict (api/schemas.py) and refuse
`90.0` where a whole number is asked, which OpenAPI 3.1's JSON Schema (where `90.0` is
an integer) cannot express. FastAPI writes 3.1; `openapi_3_0` rewrites the few 3.1
forms it uses (`anyOf` with `null`, `const`, `examples` in a schema, numeric exclusive
bounds).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from conso.api.answers import ProblemDetails
from conso.domain.catalog import Catalog, PlanKind
from conso.domain.units import MICROS_PER_EURO

OPENAPI_VERSION = "3.0.3"
_SCHEMAS = "#/components/schemas/{model}"
# Keys whose value is data (or a map of names), not a schema to rewrite.
_DATA_KEYS = frozenset({"enum", "default", "example", "const", "required"})


def install(app: FastAPI, catalog: Catalog) -> None:
    """Serve the completed document at app.openapi_url (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, catalog)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI, catalog: Catalog) -> dict[str, Any]:
    built = get_openapi(title=app.title, version=app.version, description=app.description,
                        routes=app.routes, tags=app.openapi_tags, servers=app.servers)
    schemas: dict[str, Any] = built.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemDetails.model_json_schema(ref_template=_SCHEMAS)
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemDetails"] = problem
    _complete_from_catalog(schemas, catalog)
    _drop_unused(built)
    return openapi_3_0(built)


def _drop_unused(built: dict[str, Any]) -> None:
    """Schemas nothing refers to (a model whose schema a route replaced, e.g. RuleIn)."""
    schemas: dict[str, Any] = built["components"]["schemas"]
    while True:
        text = json.dumps({k: v for k, v in built.items() if k != "components"}) + \
            json.dumps(schemas)
        unused = [name for name in schemas if f'"{_SCHEMAS.format(model=name)}"' not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def _complete_from_catalog(schemas: dict[str, Any], catalog: Catalog) -> None:
    """The values only the catalogue knows: a line's plan, a spending limit's amount."""
    line = schemas.get("LineIn", {}).get("properties", {})
    if "plan" in line:
        line["plan"] = {"type": "string", "enum": sorted(catalog.plans),
                        "description": "a plan id of the catalogue (GET /api/v1/plans)"}
    amounts = sorted({micros // MICROS_PER_EURO for plan in catalog.plans.values()
                      if plan.kind is PlanKind.PAYG for micros in plan.spending_limits_micros})
    limit = schemas.get("SpendingLimitIn", {}).get("properties", {})
    if "amount_eur" in limit and amounts:
        limit["amount_eur"]["enum"] = amounts


# -- OpenAPI 3.1 (JSON Schema 2020-12) to 3.0 ------------------------------------------------

def openapi_3_0(built: dict[str, Any]) -> dict[str, Any]:
    converted = copy.deepcopy(built)
    converted["openapi"] = OPENAPI_VERSION
    components = converted.get("components", {})
    components["schemas"] = {name: _schema(s) for name, s in
                             components.get("schemas", {}).items()}
    for item in converted.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                _operation(operation)
    return converted


def _operation(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if "schema" in parameter:
            schema = _schema(parameter["schema"])
            # A parameter is there (a string) or not: never null.
            schema.pop("nullable", None)
            if isinstance(schema.get("enum"), list):
                schema["enum"] = [value for value in schema["enum"] if value is not None]
            parameter["schema"] = schema
    body = operation.get("requestBody")
    if body is not None:
        _content(body.get("content", {}))
    responses = operation.get("responses", {})
    operation["responses"] = dict(sorted(responses.items()))
    for answer in operation["responses"].values():
        _content(answer.get("content", {}))
        for header in answer.get("headers", {}).values():
            if "schema" in header:
                header["schema"] = _schema(header["schema"])


def _content(content: dict[str, Any]) -> None:
    for media in content.values():
        if "schema" not in media:
            continue
        schema = media["schema"]
        # FastAPI puts Body(examples=[...]) in the schema; 3.0 has them on the media type.
        examples = schema.pop("examples", None) if isinstance(schema, dict) else None
        if isinstance(examples, list) and examples and "example" not in media:
            media["example"] = examples[0]
        media["schema"] = _schema(schema)


def _schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DATA_KEYS:
            out[key] = value
        elif key == "properties":
            out[key] = {name: _schema(sub) for name, sub in value.items()}
        else:
            out[key] = _schema(value)
    if "const" in out:
        out["enum"] = [out.pop("const")]
    examples = out.pop("examples", None)
    if isinstance(examples, list) and examples:
        out.setdefault("example", examples[0])
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[inclusive] = out[bound]
            out[bound] = True
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        # FastAPI's OpenAPI model holds bounds as floats: 0 comes back as 0.0.
        value = out.get(bound)
        if isinstance(value, float) and value.is_integer():
            out[bound] = int(value)
    if out.get("type") == "null":
        return {"nullable": True, "enum": [None]}
    return _nullable(out)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` as 3.0 says it: X with `nullable: true`."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list):
        return schema
    others = [b for b in branches if b != {"nullable": True, "enum": [None]}]
    if len(others) == len(branches):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(others) != 1:
        return {**rest, "anyOf": others, "nullable": True}
    (only,) = others
    merged: dict[str, Any] = {"allOf": [only]} if "$ref" in only else dict(only)
    merged.update(rest)
    merged["nullable"] = True
    if isinstance(merged.get("enum"), list) and None not in merged["enum"]:
        merged["enum"] = [*merged["enum"], None]     # 3.0.3: a nullable enum lists null
    return merged

