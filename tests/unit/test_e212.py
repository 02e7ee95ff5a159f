"""E.212 Mobile Country Codes to ISO 3166-1 alpha-2: the country a roaming subscriber is in."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conso.domain.e212 import country_of_mcc, country_of_mcc_mnc, known_mccs

ISO_ALPHA2 = re.compile(r"[A-Z]{2}")
FULLWIDTH_206 = "\uff12\uff10\uff16"     # fullwidth "206": str.isdigit() is True, not ASCII
ARABIC_INDIC_206 = "\u0662\u0660\u0666"  # "206" in Arabic-Indic digits
MCC = re.compile(r"[0-9]{3}")

EU_EEA = {
    "AT": "232", "BE": "206", "BG": "284", "HR": "219", "CY": "280", "CZ": "230",
    "DK": "238", "EE": "248", "FI": "244", "FR": "208", "DE": "262", "GR": "202",
    "HU": "216", "IE": "272", "IT": "222", "LV": "247", "LT": "246", "LU": "270",
    "MT": "278", "NL": "204", "PL": "260", "PT": "268", "RO": "226", "SK": "231",
    "SI": "293", "ES": "214", "SE": "240", "IS": "274", "LI": "295", "NO": "242",
}
ELSEWHERE = {
    "CH": "228", "GB": "234", "US": "310", "CA": "302", "JP": "440", "CN": "460",
    "IN": "404", "AU": "505", "BR": "724", "MA": "604", "TR": "286",
}


@pytest.mark.parametrize(("country", "mcc"), sorted({**EU_EEA, **ELSEWHERE}.items()))
def test_anchor_mccs_map_to_their_country(country: str, mcc: str) -> None:
    assert country_of_mcc(mcc) == country
    assert country_of_mcc_mnc(mcc + "01") == country
    assert country_of_mcc_mnc(mcc + "001") == country


def test_all_thirty_eu_eea_states_are_anchored() -> None:
    assert len(EU_EEA) == 30
    assert len(set(EU_EEA.values())) == 30


@pytest.mark.parametrize(
    ("mcc", "country"),
    [("235", "GB"), ("311", "US"), ("316", "US"), ("405", "IN"), ("441", "JP"),
     ("461", "CN"), ("340", "GP"), ("647", "RE"), ("742", "GF"), ("362", "CW"),
     ("454", "HK"), ("455", "MO"), ("466", "TW"), ("430", "AE"), ("659", "SS")],
)
def test_second_codes_and_territories(mcc: str, country: str) -> None:
    assert country_of_mcc(mcc) == country


@pytest.mark.parametrize(
    ("value", "country"),
    [("20610", "BE"), ("20801", "FR"), ("26202", "DE"), ("310410", "US"),
     ("23415", "GB"), ("20408", "NL"), ("27077", "LU"), ("312530", "US")],
)
def test_sgsn_mcc_mnc_values(value: str, country: str) -> None:
    assert country_of_mcc_mnc(value) == country


@pytest.mark.parametrize("mcc", ["901", "902", "991", "001", "999", "100", "800", "203"])
def test_shared_reserved_and_unassigned_mccs_have_no_country(mcc: str) -> None:
    assert country_of_mcc(mcc) is None
    assert country_of_mcc_mnc(mcc + "01") is None


@pytest.mark.parametrize(
    "mcc",
    ["", "BE", "abc", "20", "2061", "20610", " 206", "206 ", "206\n", FULLWIDTH_206,
     ARABIC_INDIC_206, "+206"],
)
def test_malformed_mccs_give_none(mcc: str) -> None:
    assert country_of_mcc(mcc) is None


@pytest.mark.parametrize(
    "value",
    ["", "abcde", "2061a", "20", "2061", "2061012", "20610\n", " 20610", "20610 ",
     "206-10", "+20610", FULLWIDTH_206 + "\uff11\uff10",
     FULLWIDTH_206 + "10", ARABIC_INDIC_206 + "10", "\u00b20610"],
)
def test_malformed_mcc_mnc_values_give_none(value: str) -> None:
    assert country_of_mcc_mnc(value) is None


def test_table_keys_are_mccs_and_values_iso_codes() -> None:
    mccs = known_mccs()
    assert len(mccs) > 200
    for mcc in mccs:
        assert MCC.fullmatch(mcc), mcc
        country = country_of_mcc(mcc)
        assert country is not None
        assert ISO_ALPHA2.fullmatch(country), (mcc, country)
        assert country_of_mcc_mnc(mcc + "99") == country
        assert country_of_mcc_mnc(mcc + "999") == country


def test_no_shared_code_is_in_the_table() -> None:
    assert not {mcc for mcc in known_mccs() if mcc[0] in "0189"}


@given(st.text())
def test_country_of_mcc_mnc_never_raises(value: str) -> None:
    country = country_of_mcc_mnc(value)
    assert country is None or ISO_ALPHA2.fullmatch(country)


@given(st.from_regex(r"[0-9]{5,6}", fullmatch=True))
def test_digit_strings_map_like_their_mcc(value: str) -> None:
    assert country_of_mcc_mnc(value) == country_of_mcc(value[:3])


@given(st.text())
def test_country_of_mcc_never_raises(value: str) -> None:
    country = country_of_mcc(value)
    assert country is None or (MCC.fullmatch(value) and ISO_ALPHA2.fullmatch(country))
