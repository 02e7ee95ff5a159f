"""Which country a Mobile Country Code (MCC) stands for: ITU-T E.212 MCC -> ISO 3166-1 alpha-2.

The Diameter credit-control server reads the 3GPP-SGSN-MCC-MNC AVP (3GPP TS 29.061: a
UTF8String of 5 or 6 digits, the 3-digit MCC then a 2- or 3-digit MNC) to tell which country
a subscriber is roaming in; this module turns its MCC into an upper-case ISO 3166-1 alpha-2
country code. Pure: no I/O, no third-party imports.

Source: the geographic Mobile Country Codes of ITU-T Recommendation E.212 ("The international
identification plan for public networks and subscriptions"), as listed in the ITU Operational
Bulletin's "List of Mobile Country or Geographical Area Codes". Shared/international codes
(90x, 99x: satellite, maritime, in-flight networks, ...) have no country and are left out, as
are codes not in the ITU list (e.g. 289, used in Abkhazia). Where an MCC is assigned to a
territory with an ISO code of its own, the table gives the territory's code; where one MCC
covers several ISO territories, the comment by its entry says which one stands for all.
"""

from __future__ import annotations

import re

MCC_MNC = re.compile(r"[0-9]{5,6}")   # matched with fullmatch: ASCII digits only, no "\n"

_COUNTRY_OF_MCC: dict[str, str] = {
    # 2xx: Europe
    "202": "GR", "204": "NL", "206": "BE", "208": "FR", "212": "MC", "213": "AD",
    "214": "ES", "216": "HU", "218": "BA", "219": "HR", "220": "RS",
    # 221 is Kosovo's: Kosovo has no ISO 3166-1 code; "XK" is the user-assigned code the
    # EU, CLDR and most software use for it.
    "221": "XK",
    "222": "IT", "225": "VA", "226": "RO", "228": "CH", "230": "CZ", "231": "SK",
    "232": "AT", "234": "GB", "235": "GB",   # also Guernsey, Jersey and the Isle of Man
    "238": "DK", "240": "SE", "242": "NO", "244": "FI", "246": "LT", "247": "LV",
    "248": "EE", "250": "RU", "255": "UA", "257": "BY", "259": "MD", "260": "PL",
    "262": "DE", "266": "GI", "268": "PT", "270": "LU", "272": "IE", "274": "IS",
    "276": "AL", "278": "MT", "280": "CY", "282": "GE", "283": "AM", "284": "BG",
    "286": "TR", "288": "FO", "290": "GL", "292": "SM", "293": "SI", "294": "MK",
    "295": "LI", "297": "ME",
    # 3xx: North America and the Caribbean. 310-316 are all the United States' (its
    # territories Guam, the Northern Marianas, ... also have networks under 310-311).
    "302": "CA", "308": "PM", "310": "US", "311": "US", "312": "US", "313": "US",
    "314": "US", "315": "US", "316": "US", "330": "PR", "332": "VI", "334": "MX",
    "338": "JM",
    "340": "GP",   # French Antilles: Guadeloupe, Martinique, Saint-Barthélemy, Saint-Martin
    "342": "BB", "344": "AG", "346": "KY", "348": "VG", "350": "BM", "352": "GD",
    "354": "MS", "356": "KN", "358": "LC", "360": "VC",
    "362": "CW",   # former Netherlands Antilles: Curaçao, Sint Maarten, Bonaire, Saba, ...
    "363": "AW", "364": "BS", "365": "AI", "366": "DM", "368": "CU", "370": "DO",
    "372": "HT", "374": "TT", "376": "TC",
    # 4xx: Asia and the Middle East
    "400": "AZ", "401": "KZ", "402": "BT", "404": "IN", "405": "IN", "406": "IN",
    "410": "PK", "412": "AF", "413": "LK", "414": "MM", "415": "LB", "416": "JO",
    "417": "SY", "418": "IQ", "419": "KW", "420": "SA", "421": "YE", "422": "OM",
    "424": "AE",
    # 425 is Israel's; the Palestinian networks (Jawwal, Ooredoo Palestine) also use it,
    # with MNCs 05 and 06, so MCC alone cannot tell them apart: "IL" for all.
    "425": "IL",
    "426": "BH", "427": "QA", "428": "MN", "429": "NP",
    "430": "AE", "431": "AE",   # E.212 lists these for Abu Dhabi and Dubai
    "432": "IR", "434": "UZ", "436": "TJ", "437": "KG", "438": "TM", "440": "JP",
    "441": "JP", "450": "KR", "452": "VN", "454": "HK", "455": "MO", "456": "KH",
    "457": "LA", "460": "CN", "461": "CN", "466": "TW", "467": "KP", "470": "BD",
    "472": "MV",
    # 5xx: South-East Asia and Oceania
    "502": "MY", "505": "AU", "510": "ID", "514": "TL", "515": "PH", "520": "TH",
    "525": "SG", "528": "BN", "530": "NZ", "534": "MP", "535": "GU", "536": "NR",
    "537": "PG", "539": "TO", "540": "SB", "541": "VU", "542": "FJ", "543": "WF",
    "544": "AS", "545": "KI", "546": "NC", "547": "PF", "548": "CK", "549": "WS",
    "550": "FM", "551": "MH", "552": "PW", "553": "TV", "554": "TK", "555": "NU",
    # 6xx: Africa
    "602": "EG", "603": "DZ", "604": "MA", "605": "TN", "606": "LY", "607": "GM",
    "608": "SN", "609": "MR", "610": "ML", "611": "GN", "612": "CI", "613": "BF",
    "614": "NE", "615": "TG", "616": "BJ", "617": "MU", "618": "LR", "619": "SL",
    "620": "GH", "621": "NG", "622": "TD", "623": "CF", "624": "CM", "625": "CV",
    "626": "ST", "627": "GQ", "628": "GA", "629": "CG", "630": "CD", "631": "AO",
    "632": "GW", "633": "SC", "634": "SD", "635": "RW", "636": "ET", "637": "SO",
    "638": "DJ", "639": "KE", "640": "TZ", "641": "UG", "642": "BI", "643": "MZ",
    "645": "ZM", "646": "MG",
    "647": "RE",   # French departments of the Indian Ocean: Réunion and Mayotte
    "648": "ZW", "649": "NA", "650": "MW", "651": "LS", "652": "BW", "653": "SZ",
    "654": "KM", "655": "ZA", "657": "ER",
    "658": "SH",   # Saint Helena, Ascension and Tristan da Cunha
    "659": "SS",
    # 7xx: Central and South America
    "702": "BZ", "704": "GT", "706": "SV", "708": "HN", "710": "NI", "712": "CR",
    "714": "PA", "716": "PE", "722": "AR", "724": "BR", "730": "CL", "732": "CO",
    "734": "VE", "736": "BO", "738": "GY", "740": "EC", "742": "GF", "744": "PY",
    "746": "SR", "748": "UY", "750": "FK",
}

_KNOWN_MCCS = frozenset(_COUNTRY_OF_MCC)


def country_of_mcc(mcc: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of an MCC ("206" -> "BE"); None if unknown or malformed."""
    return _COUNTRY_OF_MCC.get(mcc)


def country_of_mcc_mnc(value: str) -> str | None:
    """The country of a 3GPP-SGSN-MCC-MNC value ("20610" -> "BE", "310410" -> "US").

    Anything but 5 or 6 ASCII digits gives None, as does an MCC not in the table.
    """
    if MCC_MNC.fullmatch(value) is None:
        return None
    return _COUNTRY_OF_MCC.get(value[:3])


def known_mccs() -> frozenset[str]:
    """Every MCC the table maps to a country."""
    return _KNOWN_MCCS
