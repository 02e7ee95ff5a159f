"""Passwords: a trailing NUL must not pass for the password without it (scrypt's HMAC
pads a short key with zero bytes, so both hash alike)."""

from __future__ import annotations

from conso.security import hash_password, verify_password


def test_a_password_with_nul_appended_is_not_the_password() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse\x00", stored)
    assert not verify_password("correct horse\x00\x00", stored)
