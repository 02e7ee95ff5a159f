"""conso's OpenAPI document of the Nchf_ConvergedCharging v3 API it serves, built from
the same models that validate the requests (models.py), with TS 32.291's paths, status
codes and content types, and ProblemDetails (`application/problem+json`) for errors.

OpenAPI 3.0.0, as 3GPP's files: pydantic's JSON Schema is turned into 3.0's dialect
(no `null` type: no member is nullable; no `default: null`; no generated titles).

Where conso's document says more or less than 3GPP's file, on purpose:
- every operation lists the codes conso answers and only those: 3GPP adds 307/308
  (conso does not redirect), 405/408/410 and a `default` response, which would make
  any status "documented"; conso adds 415 (TS 29.500's code for a body that is not
  JSON, which 3GPP leaves to `default`), and 400 on release (a release whose body
  breaks the schema or cannot be charged, under 3GPP's `default` too);
- 400/403/404 carry ProblemDetails only: 3GPP's `oneOf [ProblemDetails,
  ChargingDataResponse]` is never a ChargingDataResponse in conso's answers;
- the 201 of a create declares the `Location` header TS 32.291 §6.1.3.1 requires (3GPP's
  file declares no header);
- the bearer token is required (3GPP's `security` also allows none): conso answers 401
  without it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from conso.nchf.config import API_ROOT
from conso.nchf.models import (
    ChargingDataRequest,
    ChargingDataResponse,
    ChargingNotifyRequest,
    ChargingNotifyResponse,
    ProblemDetails,
)

_REF = "#/components/schemas/{model}"
SPEC = "3GPP TS 32.291 V17.9.0"
SPEC_URL = "https://www.3gpp.org/ftp/Specs/archive/32_series/32.291/"


class OpenApi30(GenerateJsonSchema):
    """pydantic's JSON Schema in OpenAPI 3.0's dialect."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # `X | None` is "X, or absent": null is refused on the wire (models.py).
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default") is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        generated = super().model_schema(schema)
        generated.pop("title", None)
        # Open objects, as 3GPP writes them: `additionalProperties` left out.
        if generated.get("additionalProperties") is True:
            del generated["additionalProperties"]
        return generated


def schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """The components/schemas of these models and of every model they use."""
    top, defs = models_json_schema([(model, "validation") for model in models],
                                   by_alias=True, ref_template=_REF,
                                   schema_generator=OpenApi30)
    found: dict[str, Any] = dict(defs.get("$defs", {}))
    for (model, _), schema in top.items():
        if "$ref" in schema:  # the model itself is among the $defs
            continue
        found[model.__name__] = schema
    return found


def _json(name: str, media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, **_json("ProblemDetails", "application/problem+json")}


_ERRORS = {
    "400": _problem("Bad request: the body breaks the schema (cause INVALID_MSG_FORMAT, "
                    "MANDATORY_IE_MISSING or MANDATORY_IE_INCORRECT, with invalidParams), "
                    "or what it asks cannot be charged (cause CHARGING_FAILED)"),
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
CREATE_CODES = ("400", "401", "403", "404", "411", "413", "415", "500", "503")
UPDATE_CODES = CREATE_CODES
RELEASE_CODES = ("400", "401", "404", "411", "413", "415", "500", "503")


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


def _callbacks() -> dict[str, Any]:
    """Nchf_ConvergedCharging_Notify, to the create's notifyUri."""
    return {"chargingNotification": {"{$request.body#/notifyUri}": {"post": {
        "requestBody": {"required": True, **_json("ChargingNotifyRequest")},
        "responses": {
            "200": {"description": "OK", **_json("ChargingNotifyResponse")},
            "204": {"description": "No Content, Notification was successful"},
            "400": _problem("Bad request"),
        }}}}}


def document() -> dict[str, Any]:
    create = _operation("Nchf_ConvergedCharging_Create", {"201": {
        "description": "Created (a one-time event too: debited, nothing left open)",
        "headers": {"Location": {"required": True, "schema": {"type": "string"},
                                 "description": "the URI of the charging data resource"}},
        **_json("ChargingDataResponse")}}, CREATE_CODES, ref=False)
    create["callbacks"] = _callbacks()
    update = _operation("Nchf_ConvergedCharging_Update",
                        {"200": {"description": "OK. Updated Charging Data resource is "
                                                "returned", **_json("ChargingDataResponse")}},
                        UPDATE_CODES, ref=True)
    release = _operation("Nchf_ConvergedCharging_Release",
                         {"204": {"description": "No Content."}}, RELEASE_CODES, ref=True)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Nchf_ConvergedCharging", "version": "3.1.6",
                 "description": "conso's implementation of 3GPP TS 32.291 "
                                "Nchf_ConvergedCharging (docs/nchf.md)"},
        "externalDocs": {"description": SPEC, "url": SPEC_URL},
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
            "schemas": schemas(ChargingDataRequest, ChargingDataResponse,
                               ChargingNotifyRequest, ChargingNotifyResponse, ProblemDetails),
        },
    }
