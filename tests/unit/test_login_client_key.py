"""Which address a login attempt is counted under (auth.client_key)."""

from __future__ import annotations

import pytest

from conso.auth import MAX_SUBJECT, TooManyAttempts, client_key


@pytest.mark.parametrize(("host", "key"), [
    ("192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"),                  # IPv4 written as IPv6
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),           # one host usually holds a /64
    ("testclient", "testclient"),                      # not an address: as given
    (None, "unknown"),
    ("", "unknown"),
])
def test_an_attempt_is_counted_under_its_address_ipv6_by_its_64(
    host: str | None, key: str,
) -> None:
    assert client_key(host) == key


def test_a_long_non_address_is_cut() -> None:
    assert len(client_key("x" * 1000)) == MAX_SUBJECT


def test_too_many_attempts_says_when_to_come_back() -> None:
    assert TooManyAttempts(900).retry_after == 900
    assert str(TooManyAttempts(900)).endswith("try again in 15 minutes")
    assert str(TooManyAttempts(30)).endswith("try again in 1 minute")
