"""Request bodies and parameters of the API (answers are plain dicts built in views.py,
documented in answers.py).

They check JSON types and say so in the API's words (`errors[].loc` and `msg`); what a
value may be for a line is the domain's to check, not theirs. Their JSON schemas, in the
OpenAPI document, also say what the domain and deps.text_parameters refuse (patterns,
enums), so that a client knows it before it asks."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from fastapi import Path, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError

from conso.domain.alerts import (
    EXTRA_EUR_CHOICES,
    HEAVY_USER_PCT,
    INCLUDED_PCT_CHOICES,
    MAX_RULES,
    AlertsChoice,
    ChannelChoice,
    RuleChoice,
)
from conso.domain.control import BARRING_FUNCTIONS
from conso.domain.text import text_problem

# -- what the OpenAPI document says of strings (ECMA-262 and Python regular expressions) --
# They describe what the server checks (domain/text.py, domain/ids.py) so that a client, or
# schemathesis, knows which values are refused; where a check belongs to the domain the
# pattern is documentation only (json_schema_extra) and the domain's error stays the answer.

# Text: no control character (domain/text.py; lone surrogates cannot be sent as UTF-8).
TEXT = r"^[^\x00-\x1F\x7F-\x9F]*$"
MULTILINE_TEXT = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
_C = r"\x00-\x1F\x7F-\x9F"
NAME = rf"^[^{_C}]*[^\s{_C}][^{_C}]*$"           # text that is not only white space
ACCOUNT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
LOGIN = r"^[a-z0-9][a-z0-9._@+-]{0,63}$"
E164 = r"^\+[1-9][0-9]{6,14}$"
LINE_ID = r"^(\+[1-9][0-9]{6,14}|[A-Za-z0-9][A-Za-z0-9._:-]{0,63})$"   # mobile | internet
EMAIL = rf"^[^@\s{_C}]+@[^@\s{_C}]+\.[^@\s{_C}]+$"
# An instant with its offset, years 2000 to 2999 (domain/records.py parse_time).
RFC3339 = (r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3])"
           r":[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")


# Path and query parameters, as the document shows them. The patterns are documentation:
# a path segment or query value with a control character is a 422 (deps.text_parameters),
# an id of another shape names nothing (404), or is refused by the domain (422) on a PUT.
LineIdPath = Annotated[str, Path(json_schema_extra={"pattern": LINE_ID}, description=(
    "an E.164 number (mobile line) or a free id of letters, digits and . _ : - "
    "(internet line)"))]
AccountIdPath = Annotated[str, Path(json_schema_extra={"pattern": ACCOUNT_ID},
                                    description="letters, digits, '.', '_' and '-', at most 64")]
LoginPath = Annotated[str, Path(json_schema_extra={"pattern": LOGIN}, description=(
    "lower-case letters, digits and . _ @ + -, at most 64"))]
SessionIdPath = Annotated[str, Path(json_schema_extra={"pattern": TEXT, "minLength": 1,
                                                       "maxLength": 128})]
TextQuery = Annotated[str | None, Query(json_schema_extra={"pattern": TEXT})]
TimeQuery = Annotated[str | None, Query(json_schema_extra={"pattern": RFC3339,
                                                           "format": "date-time"},
                                        description="an RFC 3339 instant with its offset")]


def _with_pattern(schema: dict[str, Any], pattern: str) -> None:
    """`pattern` on a string schema (or the string branches of an anyOf) without one."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string" and "pattern" not in branch and "enum" not in branch:
            branch["pattern"] = pattern


class Body(BaseModel):
    """A JSON object of a request. Every string in it is text (domain/text.py): a NUL or
    another control character is refused at its key, on SQLite as on PostgreSQL. The keys
    named in `multiline` may hold tabs and line breaks (free text such as an SMS); those
    in `secrets` anything (a password: hashed, never stored nor shown)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    multiline: ClassVar[frozenset[str]] = frozenset()
    secrets: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # The document says what `_text_only` refuses: each string a pattern of text.
        json_schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(json_schema)
        for key, schema in resolved.get("properties", {}).items():
            if key not in cls.secrets:
                _with_pattern(schema, MULTILINE_TEXT if key in cls.multiline else TEXT)
        return json_schema

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        # Nested objects are bodies too and check their own strings.
        if isinstance(data, dict):
            errors = [
                InitErrorDetails(type=PydanticCustomError("control_character", problem),
                                 loc=(key,), input=value)
                for key, value in data.items()
                if isinstance(value, str) and key not in cls.secrets and (
                    problem := text_problem(value, multiline=key in cls.multiline)) is not None]
            if errors:
                raise ValidationError.from_exception_data(cls.__name__, errors)
        return data


class AccountIn(Body):
    name: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": NAME})
    kind: Literal["business", "residential"]


class UserIn(Body):
    secrets = frozenset({"password"})

    # Any character but NUL (engine/provisioning.py: scrypt would ignore what follows it).
    password: str | None = Field(default=None, min_length=8, max_length=256,
                                 json_schema_extra={"pattern": r"^[^\x00]*$"},
                                 description="required for a new user; left out, kept")
    role: Literal["admin", "user"]
    email: str | None = Field(default=None, max_length=254, json_schema_extra={"pattern": EMAIL})
    language: Literal["en", "fr", "nl"] | None = None


class LineIn(Body):
    # The catalogue's plan ids are added to the document (api/openapi.py); the account
    # and the user must exist (422 otherwise): the domain says so, by name.
    account_id: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": ACCOUNT_ID})
    plan: str = Field(min_length=1, max_length=40)
    user: str | None = Field(default=None, min_length=1, max_length=64,
                             json_schema_extra={"pattern": LOGIN},
                             description="a user of the account; null: none; left out: kept")
    cycle_day: int | None = Field(default=None, ge=1, le=28)
    imsi: str | None = Field(default=None, pattern=r"^[0-9]{6,15}$",
                             description="the SIM's IMSI, 6 to 15 digits, unique; "
                                         "null: none; left out: kept")


class LoginIn(Body):
    secrets = frozenset({"password"})

    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


# -- passwords: PUT /me/password, PUT /accounts/{a}/users/{login}/password ---------------
# A new password: as UserIn's (engine/provisioning.check_password says it again).
def _new_password() -> Any:
    return Field(min_length=8, max_length=256, json_schema_extra={"pattern": r"^[^\x00]*$"},
                 description="8 to 256 characters, any but NUL")


class PasswordChangeIn(Body):
    secrets = frozenset({"current", "new"})

    current: str = Field(min_length=1, max_length=256, description="the password now")
    new: str = _new_password()


class PasswordResetIn(Body):
    secrets = frozenset({"new"})

    new: str = _new_password()


# -- history: ?cycle=, GET /lines/{line}/records ------------------------------------------
CYCLE_DATE = r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
CycleQuery = Annotated[str | None, Query(
    json_schema_extra={"pattern": CYCLE_DATE, "format": "date"},
    description="the first day (YYYY-MM-DD) of one of the line's cycles that has begun "
                "(GET /lines/{line_id}/cycles lists them); default: the current cycle; "
                "another day is a 422")]
ServiceQuery = Annotated[Literal["voice", "sms", "data", "premium", "callme"] | None,
                         Query(description="only the records of this service")]
CursorQuery = Annotated[str | None, Query(
    json_schema_extra={"pattern": r"^[A-Za-z0-9_-]{1,1024}$"},
    description="the `next_cursor` of the previous page (opaque); left out: the first page")]


# -- in the API's own words: pydantic's complaints about a value's type, rephrased -------

def _refused_as(msg: str, *, null: bool = False,
                whole: tuple[str, ...] = ()) -> WrapValidator:
    """Say `msg` when pydantic refuses the value itself (its type; with `whole`, also these
    error types one level in, e.g. a missing or extra key of an object); errors deeper
    in pass as they are. `null`: an explicit null is refused too (a field whose absence
    means "the default")."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if null and value is None:
            raise PydanticCustomError("invalid", msg)
        try:
            return handler(value)
        except ValidationError as exc:
            if any(not e["loc"] or (len(e["loc"]) == 1 and e["type"] in whole)
                   for e in exc.errors()):
                raise PydanticCustomError("invalid", msg) from None
            raise

    return WrapValidator(validate)


def _unknown_key(msg: str) -> WrapValidator:
    """Say `msg` at the first (sorted) key that an object does not know."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            unknown = sorted(str(e["loc"][0]) for e in exc.errors()
                             if e["type"] == "extra_forbidden" and len(e["loc"]) == 1)
            if not unknown:
                raise
            error = InitErrorDetails(type=PydanticCustomError("unknown", msg),
                                     loc=(unknown[0],), input=value)
            raise ValidationError.from_exception_data(exc.title, [error]) from None

    return WrapValidator(validate)


# -- notifications: PUT /lines/{line}/alerts ---------------------------------------------

class RuleIn(Body):
    kind: Annotated[str, _refused_as("must be 'included_pct' or 'extra_eur'")]
    value: Annotated[int, _refused_as("must be a whole number")]


class ChannelsIn(Body):
    # Left out, `sms` is the plan's default; it may not be null.
    sms: Annotated[bool | None, _refused_as("must be true or false", null=True),
                   WithJsonSchema({"type": "boolean"})] = None
    second_number: Annotated[str | None, _refused_as(
        "must be an E.164 number such as +32470000001, or null"),
        WithJsonSchema({"anyOf": [{"type": "string", "pattern": E164}, {"type": "null"}]})
    ] = None
    email: Annotated[str | None, _refused_as("must be an e-mail address, or null"),
                     WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 254,
                                                "pattern": EMAIL}, {"type": "null"}]})] = None


# Which rules a line takes depends on its plan (domain/alerts.py): included_pct and
# extra_eur for mobile lines (included_pct not on pay-per-use), volume_pct (or
# included_pct) on an internet line with a volume, heavy_user on an unlimited one.
_RULE_VALUES = {"included_pct": INCLUDED_PCT_CHOICES, "extra_eur": EXTRA_EUR_CHOICES,
                "volume_pct": INCLUDED_PCT_CHOICES,
                "heavy_user": (*INCLUDED_PCT_CHOICES, HEAVY_USER_PCT)}
RULES_SCHEMA: dict[str, Any] = {
    "type": "array", "maxItems": MAX_RULES, "uniqueItems": True,
    "description": "at most five rules, each once; included_pct and extra_eur for mobile "
                   "lines (not included_pct on pay-per-use), volume_pct for an internet "
                   "line with a volume, heavy_user for an unlimited one: another is a 422",
    "items": {"oneOf": [
        {"type": "object", "required": ["kind", "value"], "additionalProperties": False,
         "properties": {"kind": {"type": "string", "enum": [kind]},
                        "value": {"type": "integer", "enum": sorted(set(values))}}}
        for kind, values in _RULE_VALUES.items()]},
}


class AlertsIn(Body):
    """A line's notifications: at most five rules, and the channels they are sent by."""

    # The JSON types only: what the line's plan allows is domain/alerts.py's to check.
    rules: Annotated[list[Annotated[RuleIn, _refused_as("must be an object {kind, value}",
                                                        whole=("missing", "extra_forbidden"))]],
                     _refused_as("must be a list of {kind, value}"), WithJsonSchema(RULES_SCHEMA)]
    channels: Annotated[ChannelsIn, _unknown_key("unknown channel"),
                        _refused_as("must be an object {sms, second_number, email}")
                        ] = Field(default_factory=ChannelsIn)

    @model_validator(mode="before")
    @classmethod
    def _an_object_with_rules(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise PydanticCustomError("dict_type", "Input should be a valid dictionary")
        # No rules at all is said like rules of the wrong type, as the API always has.
        return data if "rules" in data else {**data, "rules": None}

    def choice(self) -> AlertsChoice:
        return AlertsChoice(
            rules=tuple(RuleChoice(rule.kind, rule.value) for rule in self.rules),
            channels=ChannelChoice(self.channels.sms, self.channels.second_number,
                                   self.channels.email))


# -- network control: PUT /lines/{line}/barring ------------------------------------------

# Functions to bar (true) or lift (false): which functions exist is the domain's to say
# (control.parse_barring), so an unknown one is refused there, naming it.
BarringIn = Annotated[
    dict[str, Annotated[bool, Strict(), _refused_as("must be true or false")]],
    WithJsonSchema({"type": "object", "additionalProperties": False,
                    "description": "functions to bar (true) or lift (false); those left "
                                   "out keep their setting",
                    "properties": {function: {"type": "boolean"}
                                   for function in BARRING_FUNCTIONS}})]
