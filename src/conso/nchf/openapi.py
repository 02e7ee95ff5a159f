"""conso's OpenAPI document of the Nchf_ConvergedCharging v3 API it serves, built from
the same models that validate the requests (models.py), with TS 32.291's paths, status
codes and content types, and ProblemDetails (`application/problem+json`) for errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from conso.nchf.config import API_ROOT
from conso.nchf.models import (
    ChargingDataRequest,
    ChargingDataResponse,
    ChargingNotifyRequest,
    ProblemDetails,
)

_REF = "#/components/schemas/{model}"


def _schemas(*models: type[BaseModel]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template=_REF, mode="validation")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _json(name: str, media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, **_json("ProblemDetails", "application/problem+json")}


_ERRORS = {
    "400": _problem("Bad request: the body breaks the schema (invalidParams), or what it "
                    "asks cannot be charged (cause CHARGING_FAILED)"),
    "401": _problem("Unauthorized: no valid bearer token"),
    "403": _problem("Forbidden: nothing granted (cause QUOTA_LIMIT_REACHED or "
                    "END_USER_REQUEST_DENIED)"),
    "404": _problem("Not found: unknown subscriber (cause USER_UNKNOWN) or ChargingDataRef"),
    "411": _problem("Length required"),
    "413": _problem("Payload too large"),
    "415": _problem("Unsupported media type: the body must be application/json"),
    "500": _problem("Internal server error"),
    "503": _problem("Service unavailable"),
}


def _operation(summary: str, ok: dict[str, Any], codes: tuple[str, ...], *,
               ref: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "requestBody": {"required": True, **_json("ChargingDataRequest")},
        "responses": {**ok, **{code: _ERRORS[code] for code in codes}},
    }
    if ref:
        operation["parameters"] = [{
            "name": "ChargingDataRef", "in": "path", "required": True,
            "description": "a unique identifier for a charging data resource in a PLMN",
            "schema": {"type": "string"}}]
    return operation


def document() -> dict[str, Any]:
    create = _operation("Nchf_ConvergedCharging_Create", {"201": {
        "description": "Created",
        "headers": {"Location": {"required": True, "schema": {"type": "string"},
                                 "description": "the URI of the charging data resource"}},
        **_json("ChargingDataResponse")}},
        ("400", "401", "403", "404", "411", "413", "415", "500", "503"), ref=False)
    create["callbacks"] = {"chargingNotification": {"{$request.body#/notifyUri}": {"post": {
        "requestBody": {"required": True, **_json("ChargingNotifyRequest")},
        "responses": {"204": {"description": "No Content, Notification was successful"},
                      "200": {"description": "OK"}}}}}}
    update = _operation("Nchf_ConvergedCharging_Update",
                        {"200": {"description": "OK. Updated Charging Data resource is "
                                                "returned", **_json("ChargingDataResponse")}},
                        ("400", "401", "403", "404", "411", "413", "415", "500", "503"),
                        ref=True)
    release = _operation("Nchf_ConvergedCharging_Release",
                         {"204": {"description": "No Content."}},
                         ("400", "401", "404", "411", "413", "415", "500", "503"), ref=True)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Nchf_ConvergedCharging", "version": "3.1.6",
                 "description": "conso's implementation of 3GPP TS 32.291 "
                                "Nchf_ConvergedCharging (docs/nchf.md)"},
        "servers": [{"url": "{apiRoot}" + API_ROOT,
                     "variables": {"apiRoot": {"default": "http://127.0.0.1:8443"}}}],
        "security": [{"oAuth2ClientCredentials": ["nchf-convergedcharging"]}],
        "paths": {
            "/chargingdata": {"post": create},
            "/chargingdata/{ChargingDataRef}/update": {"post": update},
            "/chargingdata/{ChargingDataRef}/release": {"post": release},
        },
        "components": {
            "securitySchemes": {"oAuth2ClientCredentials": {
                "type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": "{nrfApiRoot}/oauth2/token",
                    "scopes": {"nchf-convergedcharging":
                               "Access to the Nchf_ConvergedCharging API"}}}}},
            "schemas": _schemas(ChargingDataRequest, ChargingDataResponse,
                                ChargingNotifyRequest, ProblemDetails),
        },
    }
