"""The API listener's limits as `conso serve` reads them (api/limits.py)."""

from __future__ import annotations

import resource

import pytest

from conso.api.limits import HttpLimits


def test_the_defaults() -> None:
    limits = HttpLimits.from_env({})
    assert limits == HttpLimits()
    assert (limits.max_connections, limits.max_header_bytes, limits.max_headers) == (
        1000, 16 * 1024, 100)
    assert (limits.header_timeout, limits.body_timeout, limits.keepalive_timeout) == (
        10.0, 30.0, 5)
    assert limits.body_limit("/api/v1/authorize") == 1024 * 1024
    assert limits.body_limit("/api/v1/usage") == 32 * 1024 * 1024


def test_settings_and_the_command_line_option() -> None:
    env = {"CONSO_MAX_CONNECTIONS": "50", "CONSO_HEADER_TIMEOUT": "2.5",
           "CONSO_MAX_BODY_BYTES": "4096", "CONSO_MAX_HEADERS": " 20 "}
    limits = HttpLimits.from_env(env)
    assert (limits.max_connections, limits.header_timeout, limits.max_headers) == (50, 2.5, 20)
    assert limits.body_limit("/api/v1/sessions") == 4096
    assert HttpLimits.from_env(env, max_connections=7).max_connections == 7
    assert HttpLimits.from_env(env, max_connections=None).max_connections == 50


@pytest.mark.parametrize(("name", "value"), [("CONSO_MAX_CONNECTIONS", "0"),
                                             ("CONSO_MAX_HEADERS", "-1"),
                                             ("CONSO_MAX_HEADER_BYTES", "16k"),
                                             ("CONSO_BODY_TIMEOUT", "soon"),
                                             ("CONSO_KEEPALIVE_TIMEOUT", "1.5")])
def test_a_setting_that_is_not_a_positive_number_is_named(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        HttpLimits.from_env({name: value})


def test_the_connection_cap_fits_in_half_the_file_descriptors_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _: (256, 256))
    monkeypatch.setattr("conso.api.limits._open_descriptors", lambda: 40)
    lowered = HttpLimits().within_file_limit()
    assert (lowered.max_connections, lowered.file_limit) == (108, 256)
    assert "lowered for ulimit -n 256" in lowered.describe()
    kept = HttpLimits(max_connections=100).within_file_limit()
    assert (kept.max_connections, kept.file_limit) == (100, None)
    monkeypatch.setattr(resource, "getrlimit", lambda _: (resource.RLIM_INFINITY,) * 2)
    assert HttpLimits().within_file_limit().max_connections == 1000
