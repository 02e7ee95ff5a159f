"""Request bodies of the API (answers are plain dicts built in views.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AccountIn(Body):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["business", "residential"]


class UserIn(Body):
    password: str | None = Field(default=None, min_length=8, max_length=256)
    role: Literal["admin", "user"]
    email: str | None = Field(default=None, max_length=254)
    language: Literal["en", "fr", "nl"] | None = None


class LineIn(Body):
    account_id: str = Field(min_length=1, max_length=64)
    plan: str = Field(min_length=1, max_length=40)
    user: str | None = Field(default=None, min_length=1, max_length=64)
    cycle_day: int | None = Field(default=None, ge=1, le=28)


class LoginIn(Body):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
