"""Request bodies of the API (answers are plain dicts built in views.py).

They check JSON types and say so in the API's words (`errors[].loc` and `msg`); what a
value may be for a line is the domain's to check, not theirs."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from conso.domain.alerts import AlertsChoice, ChannelChoice, RuleChoice
from conso.domain.text import text_problem


class Body(BaseModel):
    """A JSON object of a request. Every string in it is text (domain/text.py): a NUL or
    another control character is refused at its key, on SQLite as on PostgreSQL. The keys
    named in `multiline` may hold tabs and line breaks (free text such as an SMS); those
    in `secrets` anything (a password: hashed, never stored nor shown)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    multiline: ClassVar[frozenset[str]] = frozenset()
    secrets: ClassVar[frozenset[str]] = frozenset()

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
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["business", "residential"]


class UserIn(Body):
    secrets = frozenset({"password"})

    password: str | None = Field(default=None, min_length=8, max_length=256)
    role: Literal["admin", "user"]
    email: str | None = Field(default=None, max_length=254)
    language: Literal["en", "fr", "nl"] | None = None


class LineIn(Body):
    account_id: str = Field(min_length=1, max_length=64)
    plan: str = Field(min_length=1, max_length=40)
    user: str | None = Field(default=None, min_length=1, max_length=64)
    cycle_day: int | None = Field(default=None, ge=1, le=28)
    imsi: str | None = Field(default=None, pattern=r"^[0-9]{6,15}$",
                             description="the SIM's IMSI, 6 to 15 digits, unique")


class LoginIn(Body):
    secrets = frozenset({"password"})

    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


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
    sms: Annotated[bool | None, _refused_as("must be true or false", null=True)] = None
    second_number: Annotated[str | None, _refused_as(
        "must be an E.164 number such as +32470000001, or null")] = None
    email: Annotated[str | None, _refused_as("must be an e-mail address, or null")] = None


class AlertsIn(Body):
    """A line's notifications: at most five rules, and the channels they are sent by."""

    # The JSON types only: what the line's plan allows is domain/alerts.py's to check.
    rules: Annotated[list[Annotated[RuleIn, _refused_as("must be an object {kind, value}",
                                                        whole=("missing", "extra_forbidden"))]],
                     _refused_as("must be a list of {kind, value}")]
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
BarringIn = dict[str, Annotated[bool, Strict(), _refused_as("must be true or false")]]
