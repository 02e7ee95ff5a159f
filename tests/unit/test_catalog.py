"""The plan catalogue: the reference numbers, and precise errors for bad files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from conso.catalog_file import load_catalog
from conso.domain.catalog import CatalogError, PlanKind, parse_catalog
from conso.domain.units import Service

GB = 10**9
REFERENCE_TEXT = resources.files("conso").joinpath("catalog.toml").read_text("utf-8")


def write_variant(tmp_path: Path, old: str, new: str) -> Path:
    """The reference catalogue with one exact piece of text replaced, written to a file."""
    assert REFERENCE_TEXT.count(old) == 1, f"{old!r} must occur exactly once"
    path = tmp_path / "variant.toml"
    path.write_text(REFERENCE_TEXT.replace(old, new), "utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    return str(caught.value)


# -- the reference catalogue ---------------------------------------------------

def test_reference_catalogue_has_every_reference_plan() -> None:
    catalog = load_catalog(None)
    assert set(catalog.plans) == {
        "king", "kong", "king-business", "kong-business", "payg",
        "internet-150", "internet-unlimited",
    }
    assert catalog.home_country == "BE"


def test_king_includes_300_minutes_500_sms_and_10_gb_in_base_units() -> None:
    king = load_catalog(None).plans["king"]
    assert king.kind is PlanKind.BUNDLE
    assert king.included == {Service.VOICE: 18_000, Service.SMS: 500, Service.DATA: 10**10}
    assert king.allowance(Service.VOICE) == 300 * 60
    assert king.allowance(Service.DATA) == 10 * GB
    assert king.unlimited == frozenset()
    assert king.business is False
    assert king.monthly_fee_micros == 25_000_000
    assert king.spending_limits_micros == ()


def test_king_rates_are_in_micro_euros() -> None:
    rates = load_catalog(None).plans["king"].rates
    assert rates.voice_per_minute == 200_000
    assert rates.sms_per_sms == 100_000
    assert rates.data_per_mb == 10_000
    assert rates.voice_in_per_minute is None


def test_kong_includes_1000_minutes_1000_sms_and_40_gb() -> None:
    kong = load_catalog(None).plans["kong"]
    assert kong.included == {Service.VOICE: 60_000, Service.SMS: 1_000, Service.DATA: 40 * GB}


def test_business_plans_are_marked_business() -> None:
    plans = load_catalog(None).plans
    assert plans["king-business"].business is True
    assert plans["kong-business"].business is True
    assert plans["king-business"].included == plans["king"].included


def test_payg_has_no_allowance_and_limits_of_5_10_20_50_euros() -> None:
    payg = load_catalog(None).plans["payg"]
    assert payg.kind is PlanKind.PAYG
    assert payg.included == {}
    assert payg.has_allowances is False
    assert payg.allowance(Service.VOICE) is None
    assert payg.spending_limits_micros == (5_000_000, 10_000_000, 20_000_000, 50_000_000)
    assert payg.rates.voice_per_minute == 150_000
    assert payg.rates.sms_per_sms == 80_000
    assert payg.rates.data_per_mb == 50_000
    assert payg.monthly_fee_micros == 0


def test_internet_150_includes_150_gb_of_data_only() -> None:
    internet = load_catalog(None).plans["internet-150"]
    assert internet.kind is PlanKind.INTERNET
    assert internet.services == frozenset({Service.DATA})
    assert internet.allowance(Service.DATA) == 150 * GB
    assert internet.heavy_user_bytes is None


def test_internet_unlimited_has_unlimited_data_and_a_3000_gb_heavy_user_threshold() -> None:
    unlimited = load_catalog(None).plans["internet-unlimited"]
    assert unlimited.kind is PlanKind.INTERNET
    assert unlimited.services == frozenset({Service.DATA})
    assert unlimited.unlimited == frozenset({Service.DATA})
    assert unlimited.allowance(Service.DATA) is None
    assert unlimited.heavy_user_bytes == 3000 * GB


def test_mobile_plans_offer_every_service() -> None:
    plans = load_catalog(None).plans
    for plan_id in ("king", "kong", "payg"):
        assert plans[plan_id].services == frozenset(Service)


def test_roaming_rates_are_in_micro_euros() -> None:
    roaming = load_catalog(None).roaming_rates
    assert roaming.voice_per_minute == 1_500_000
    assert roaming.voice_in_per_minute == 800_000
    assert roaming.sms_per_sms == 400_000
    assert roaming.data_per_mb == 2_000_000


@pytest.mark.parametrize("country", ["BE", "FR", "DE", "NL", "NO", "IS", "LI"])
def test_home_and_eu_eea_countries_are_the_home_zone(country: str) -> None:
    assert load_catalog(None).is_home_zone(country)


@pytest.mark.parametrize("country", ["US", "CH", "GB", "MA", "TR", "JP"])
def test_countries_outside_the_eu_eea_are_not_the_home_zone(country: str) -> None:
    assert not load_catalog(None).is_home_zone(country)


def test_limit_roaming_blocked_lists_the_reference_countries() -> None:
    assert load_catalog(None).limit_roaming_blocked == frozenset(
        {"US", "CA", "TR", "MA", "CN", "JP", "AU", "BR", "IN", "RU"})


# -- bad catalogues --------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new", "plan", "key"),
    [
        pytest.param('name = "King"\nkind = "bundle"\nmonthly_fee',
                     'name = "King"\nkind = "bundle"\nmonthly_fees',
                     "king", "monthly_fees", id="unknown-key"),
        pytest.param('kind = "payg"', 'kind = "payg"\nfree_minutes = 10',
                     "payg", "free_minutes", id="unknown-key-payg"),
        pytest.param('included = { data_gb = 150 }', 'included = { data_gb = 150, tv = 1 }',
                     "internet-150", "included.tv", id="unknown-included-key"),
        pytest.param('monthly_fee = "45.00"', 'monthly_fee = "45,00"',
                     "internet-150", "monthly_fee", id="bad-money-comma"),
        pytest.param('monthly_fee = "45.00"', "monthly_fee = 45.0",
                     "internet-150", "monthly_fee", id="money-as-float"),
        pytest.param('monthly_fee = "45.00"', 'monthly_fee = "-45.00"',
                     "internet-150", "monthly_fee", id="negative-money"),
        pytest.param('rates = { voice_per_minute = "0.15"',
                     'rates = { voice_per_minute = "0.1500001"',
                     "payg", "rates.voice_per_minute", id="money-too-precise"),
        pytest.param('spending_limits = ["5", "10", "20", "50"]',
                     'spending_limits = ["5", "ten", "20", "50"]',
                     "payg", "spending_limits", id="bad-limit"),
        pytest.param('name = "Kong"\nkind = "bundle"', 'name = "Kong"\nkind = "bundel"',
                     "kong", "kind", id="bad-kind"),
        pytest.param('name = "Kong"\nkind = "bundle"', 'name = "Kong"',
                     "kong", "kind", id="missing-kind"),
        pytest.param('name = "King"\nkind = "bundle"\nmonthly_fee = "25.00"\n'
                     'included = { voice_minutes = 300, sms = 500, data_gb = 10 }\n'
                     'rates = { voice_per_minute = "0.20", sms_per_sms = "0.10", '
                     'data_per_mb = "0.01" }',
                     'name = "King"\nkind = "bundle"\nmonthly_fee = "25.00"\n'
                     'included = { voice_minutes = 300, sms = 500, data_gb = 10 }\n'
                     'rates = { voice_per_minute = "0.20", sms_per_sms = "0.10" }',
                     "king", "rates.data_per_mb", id="bundle-missing-rate"),
        pytest.param('rates = { voice_per_minute = "0.15", sms_per_sms = "0.08", '
                     'data_per_mb = "0.05" }',
                     'rates = { voice_per_minute = "0.15", data_per_mb = "0.05" }',
                     "payg", "rates.sms_per_sms", id="payg-missing-rate"),
        pytest.param('name = "Kong"\nkind = "bundle"\nmonthly_fee = "40.00"',
                     'name = "Kong"\nkind = "bundle"\nmonthly_fee = "40.00"\n'
                     'spending_limits = ["5"]',
                     "kong", "spending_limits", id="spending-limits-on-a-bundle"),
        pytest.param('kind = "payg"', 'kind = "payg"\nincluded = { sms = 10 }',
                     "payg", "included", id="payg-with-allowance"),
        pytest.param('included = { data_gb = 150 }',
                     'included = { data_gb = 150, voice_minutes = 10 }',
                     "internet-150", "included", id="internet-with-voice"),
        pytest.param("heavy_user_gb = 3000", "", "internet-unlimited", "heavy_user_gb",
                     id="unlimited-without-heavy-user"),
        pytest.param("heavy_user_gb = 3000", "heavy_user_gb = -1", "internet-unlimited",
                     "heavy_user_gb", id="negative-heavy-user"),
        pytest.param('included = { data_gb = 150 }', "included = { data_gb = true }",
                     "internet-150", "included.data_gb", id="bool-allowance"),
        pytest.param('name = "King Business"', 'name = "  "', "king-business", "name",
                     id="blank-name"),
        pytest.param('business = true\nmonthly_fee = "40.00"',
                     'business = "yes"\nmonthly_fee = "40.00"',
                     "kong-business", "business", id="business-not-bool"),
        pytest.param("[plans.payg]", "[plans.PAYG]", "PAYG", "id", id="upper-case-plan-id"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_file_the_plan_and_the_key(
    tmp_path: Path, old: str, new: str, plan: str, key: str
) -> None:
    path = write_variant(tmp_path, old, new)
    message = load_error(path)
    assert str(path) in message
    assert f"plan {plan!r}" in message
    assert f"key {key!r}" in message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        pytest.param('home_country = "BE"', 'home_country = "Belgium"', "home_country",
                     id="bad-home-country"),
        pytest.param('eu_eea = ["AT","BE"', 'eu_eea = ["AT","be"', "eu_eea",
                     id="lower-case-country"),
        pytest.param('eu_eea = ["AT","BE"', 'eu_eea = ["AUT","BE"', "eu_eea",
                     id="three-letter-country"),
        pytest.param('limit_roaming_blocked = ["US"', 'limit_roaming_blocked = ["U S"',
                     "limit_roaming_blocked", id="bad-blocked-country"),
        pytest.param('home_country = "BE"', 'home_country = "BE"\nhome_currency = "EUR"',
                     "home_currency", id="unknown-top-level-key"),
        pytest.param('voice_in_per_minute = "0.80"\n', "", "roaming_rates.voice_in_per_minute",
                     id="missing-roaming-rate"),
        pytest.param('sms_per_sms = "0.40"', 'sms_per_sms = "0.40"\nmms_per_mms = "1.00"',
                     "roaming_rates.mms_per_mms", id="unknown-roaming-rate"),
        pytest.param('data_per_mb = "2.00"', 'data_per_mb = "two"', "roaming_rates.data_per_mb",
                     id="bad-roaming-money"),
    ],
)
def test_a_bad_top_level_setting_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = write_variant(tmp_path, old, new)
    message = load_error(path)
    assert str(path) in message
    assert f"key {key!r}" in message


def test_a_country_code_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    path = write_variant(tmp_path, '"FI","FR","DE"', '"FI","FR\\n","DE"')
    message = load_error(path)
    assert "key 'eu_eea'" in message


def test_a_catalogue_without_plans_is_refused(tmp_path: Path) -> None:
    text = REFERENCE_TEXT.split("[plans.king]")[0] + "[plans]\n"
    path = tmp_path / "empty.toml"
    path.write_text(text, "utf-8")
    message = load_error(path)
    assert str(path) in message
    assert "'plans'" in message


def test_a_missing_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "catalog.toml"
    message = load_error(path)
    assert str(path) in message
    assert "cannot read" in message


def test_invalid_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('home_country = "BE\n[plans.king\n', "utf-8")
    message = load_error(path)
    assert str(path) in message
    assert "not valid TOML" in message


def test_the_reference_catalogue_loads_from_a_file_path_too(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(REFERENCE_TEXT, "utf-8")
    assert load_catalog(path) == load_catalog(None)


def test_parse_catalog_names_the_source_it_is_given() -> None:
    with pytest.raises(CatalogError, match=r"^some source: key 'plans'"):
        parse_catalog({"home_country": "BE", "roaming_rates": {
            "voice_out_per_minute": "1", "voice_in_per_minute": "1",
            "sms_per_sms": "1", "data_per_mb": "1"}}, "some source")


# -- how the network names services ------------------------------------------------

def test_the_reference_rating_groups_and_default_quota() -> None:
    network = load_catalog(None).network
    assert dict(network.rating_groups) == {
        10: Service.DATA, 20: Service.VOICE, 30: Service.SMS, 40: Service.PREMIUM}
    assert network.service_of(20) is Service.VOICE
    assert network.service_of(99) is None
    assert dict(network.default_quota) == {
        Service.DATA: 10_000_000, Service.VOICE: 300, Service.SMS: 1}


def test_a_catalogue_without_a_network_section_maps_no_rating_group(tmp_path: Path) -> None:
    start = REFERENCE_TEXT.index("# How the network names services")
    path = tmp_path / "no-network.toml"
    path.write_text(REFERENCE_TEXT[:start], "utf-8")
    network = load_catalog(path).network
    assert (dict(network.rating_groups), dict(network.default_quota)) == ({}, {})


@pytest.mark.parametrize(("old", "new", "key"), [
    ('10 = "data"', '10 = "fax"', "network.rating_groups.10"),
    ('10 = "data"', '-1 = "data"', "network.rating_groups.-1"),
    ('10 = "data"', '4294967296 = "data"', "network.rating_groups.4294967296"),
    ("voice_seconds = 300", "voice_seconds = -1", "network.default_quota.voice_seconds"),
    ("voice_seconds = 300", "minutes = 5", "network.default_quota.minutes"),
    ("[network.default_quota]", "[network.quota]", "network.quota"),
])
def test_a_bad_network_setting_is_refused_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str,
) -> None:
    message = load_error(write_variant(tmp_path, old, new))
    assert f"key {key!r}" in message
