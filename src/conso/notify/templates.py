"""Message texts in English, French and Dutch (pure: no I/O, no clock).

Each text says what was reached, the figures (used / included / remaining, or the
amount) and when the cycle ends. SMS texts stay short and in the GSM 03.38 alphabet
(no ç, ê, « »: see tests/unit/test_sms_texts_are_gsm.py); e-mails get a subject and a
fuller body around the same sentence (email_body.py).

Written as a native speaker reads them: French puts a space before ":" ";" and "%" and
the euro sign after the amount ("12,34 €"), says "Go"/"Mo", and agrees participles
("vos données mobiles incluses sont épuisées"); Dutch writes "€ 12,34" and "t/m" style
inclusive ends ("tot en met"); figures of one sentence share one unit ("9.0 GB of
10 GB, 1.0 GB left", never "9 GB of 10 GB, 978 MB left") and add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from conso.domain.alerts import Crossing, RuleKind
from conso.domain.catalog import PlanKind
from conso.domain.consult import ServiceSummary, UsageSummary
from conso.domain.cycle import CYCLE_TZ
from conso.domain.units import (
    BYTES_PER_GB,
    BYTES_PER_KB,
    BYTES_PER_MB,
    MICROS_PER_EURO,
    SECONDS_PER_MINUTE,
    Service,
)

LANGUAGES = ("en", "fr", "nl")

# A service alone ("calls", "appels", "bellen"): lists and the portal.
_SERVICE = {
    "en": {Service.VOICE: "calls", Service.SMS: "SMS", Service.DATA: "mobile data"},
    "fr": {Service.VOICE: "appels", Service.SMS: "SMS", Service.DATA: "données mobiles"},
    "nl": {Service.VOICE: "bellen", Service.SMS: "sms", Service.DATA: "mobiele data"},
}

# What a bundle's part is called after "your" ("your calls bundle", "vos appels
# inclus", "uw belminuten"); French agrees "incluses" with the feminine "données".
_BUNDLE = {
    "en": {Service.VOICE: "calls bundle", Service.SMS: "SMS bundle",
           Service.DATA: "mobile data bundle"},
    "fr": {Service.VOICE: "appels inclus", Service.SMS: "SMS inclus",
           Service.DATA: "données mobiles incluses"},
    "nl": {Service.VOICE: "belminuten", Service.SMS: "sms'en", Service.DATA: "mobiele data"},
}

# "it is used up": English has no agreement; French agrees with the service (feminine
# plural "données"); Dutch "data" is singular, minutes and texts plural.
_USED_UP = {
    "en": {s: "is used up" for s in Service},
    "fr": {**{s: "sont épuisés" for s in Service}, Service.DATA: "sont épuisées"},
    "nl": {**{s: "zijn op" for s in Service}, Service.DATA: "is op"},
}

# A quantity of a service in a list ("30 min of calls", "30 min d'appels").
_OF_SERVICE = {
    "en": {Service.VOICE: "{q} of calls", Service.SMS: "{q}", Service.DATA: "{q} of data"},
    "fr": {Service.VOICE: "{q} d'appels", Service.SMS: "{q}", Service.DATA: "{q} de données"},
    "nl": {Service.VOICE: "{q} bellen", Service.SMS: "{q}", Service.DATA: "{q} data"},
}

_UNLIMITED = {
    "en": {Service.VOICE: "unlimited calls", Service.SMS: "unlimited SMS",
           Service.DATA: "unlimited data"},
    "fr": {Service.VOICE: "appels illimités", Service.SMS: "SMS illimités",
           Service.DATA: "données illimitées"},
    "nl": {Service.VOICE: "onbeperkt bellen", Service.SMS: "onbeperkt sms'en",
           Service.DATA: "onbeperkte data"},
}

# Data units: French says octets ("Go", "Mo", "ko").
_BYTES = {
    "en": ("kB", "MB", "GB"),
    "fr": ("ko", "Mo", "Go"),
    "nl": ("kB", "MB", "GB"),
}

# What an internet line's volume is called in a subject (it is no "mobile data").
_VOLUME = {"en": "monthly volume", "fr": "volume mensuel", "nl": "maandvolume"}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")

# What was reached, as a subject and an e-mail's "Reached:" row say it.
_REACHED = {
    "en": {
        "included_pct": "{pct} of your {bundle}",
        "volume_pct": "{pct} of your monthly volume",
        "heavy_user": "{pct} of the fair-use threshold",
        "limit_pct": "{pct} of your {limit} spending limit",
        "extra_eur": "{value} of extra spend",
        "spend_eur": "{value} spent",
        "roaming_cap_pct": "{pct} of your {cap} data roaming cap",
    },
    "fr": {
        "included_pct": "{pct} de vos {bundle}",
        "volume_pct": "{pct} de votre volume mensuel",
        "heavy_user": "{pct} du seuil d'usage raisonnable",
        "limit_pct": "{pct} de votre limite de dépenses de {limit}",
        "extra_eur": "{value} de dépenses hors forfait",
        "spend_eur": "{value} de dépenses",
        "roaming_cap_pct": "{pct} de votre plafond d'itinérance de {cap}",
    },
    "nl": {
        "included_pct": "{pct} van uw {bundle}",
        "volume_pct": "{pct} van uw maandvolume",
        "heavy_user": "{pct} van de drempel voor redelijk gebruik",
        "limit_pct": "{pct} van uw uitgavenlimiet van {limit}",
        "extra_eur": "{value} buiten de bundel",
        "spend_eur": "{value} uitgegeven",
        "roaming_cap_pct": "{pct} van uw roamingplafond van {cap}",
    },
}

_T = {
    "en": {
        "pct": "conso: you have used {pct} of your {bundle}: {used} of {included}, "
               "{remaining} left until {end}.",
        "pct100": "conso: your {bundle} ({included}) {used_up}. Further use is charged "
                  "until the bundle renews on {renew}.",
        "extra": "conso: your spend beyond your bundle has reached {amount} this cycle "
                 "(alert at {value}). The cycle ends on {end}.",
        "spend": "conso: your spend this cycle has reached {amount} (alert at {value}). "
                 "The cycle ends on {end}.",
        "limit": "conso: you have used {pct} of your {limit} spending limit ({amount} "
                 "spent). The cycle ends on {end}.",
        "limit100": "conso: your {limit} spending limit is reached. Paid services are "
                    "blocked until the cycle ends on {end}; free 'call me' messages "
                    "still work.",
        "volume": "conso: you have used {pct} of your monthly volume: {used} of {included}, "
                  "{remaining} left until {end}.",
        "volume100": "conso: your monthly volume ({included}) is used up. It renews on {renew}.",
        "heavy": "conso: your usage this month ({used}) is nearing the fair-use threshold "
                 "of {threshold}. The cycle ends on {end}.",
        "roaming80": "conso: data roaming outside the EU/EEA has cost {spent} this cycle, "
                     "{pct} of your {cap} cap. At the cap it stops until {end}, unless you "
                     "choose to continue.",
        "roaming100": "conso: data roaming outside the EU/EEA has reached your {cap} cap "
                      "and is stopped until the cycle ends on {end}. To continue, text "
                      "CONTINUE to 1921 or use the portal.",
        "continued": "conso: data roaming outside the EU/EEA is resumed until the end of "
                     "the cycle on {end}, at the roaming rates.",
        "not_capped": "conso: data roaming is not stopped on your line: there is nothing "
                      "to continue.",
        "consult": "conso {line}, left until {end}: {parts}. Extra spend: {amount}.",
        "consult_payg": "conso {line}, used this cycle (until {end}): {parts}. "
                        "Spent: {amount}.",
        "consult_payg_limit": "conso {line}, used this cycle (until {end}): {parts}. "
                              "Spent: {amount} of your {limit} limit.",
        "help": "conso: text CONSULT to 1921 to see your usage and what is left this "
                "cycle.",
        "subject": "Your usage: {what}",
    },
    "fr": {
        "pct": "conso : vous avez utilisé {pct} de vos {bundle} : {used} sur {included}, "
               "il reste {remaining} jusqu'au {end}.",
        "pct100": "conso : vos {bundle} ({included}) {used_up}. Toute consommation "
                  "supplémentaire est facturée jusqu'au renouvellement du forfait le "
                  "{renew}.",
        "extra": "conso : vos dépenses hors forfait ont atteint {amount} ce cycle-ci "
                 "(alerte à {value}). Le cycle se termine le {end}.",
        "spend": "conso : vos dépenses ont atteint {amount} ce cycle-ci (alerte à "
                 "{value}). Le cycle se termine le {end}.",
        "limit": "conso : vous avez utilisé {pct} de votre limite de dépenses de {limit} "
                 "(dépensé : {amount}). Le cycle se termine le {end}.",
        "limit100": "conso : votre limite de dépenses de {limit} est atteinte. Les services "
                    "payants sont bloqués jusqu'à la fin du cycle le {end} ; les messages "
                    "\"rappelle-moi\" gratuits restent possibles.",
        "volume": "conso : vous avez utilisé {pct} de votre volume mensuel : {used} sur "
                  "{included}, il reste {remaining} jusqu'au {end}.",
        "volume100": "conso : votre volume mensuel ({included}) est épuisé. Il sera "
                     "renouvelé le {renew}.",
        "heavy": "conso : votre consommation ce mois-ci ({used}) approche le seuil d'usage "
                 "raisonnable de {threshold}. Le cycle se termine le {end}.",
        "roaming80": "conso : vos données en itinérance hors UE/EEE atteignent {spent} ce "
                     "cycle-ci, soit {pct} de votre plafond de {cap}. Au plafond, elles "
                     "seront bloquées jusqu'au {end}, sauf si vous choisissez de continuer.",
        "roaming100": "conso : vos données en itinérance hors UE/EEE ont atteint votre "
                      "plafond de {cap} et sont bloquées jusqu'à la fin du cycle le {end}. "
                      "Pour continuer, envoyez CONTINUE au 1921 ou passez par le portail.",
        "continued": "conso : vos données en itinérance hors UE/EEE sont rétablies jusqu'à "
                     "la fin du cycle le {end}, au tarif d'itinérance.",
        "not_capped": "conso : vos données en itinérance ne sont pas bloquées : il n'y a "
                      "rien à reprendre.",
        "consult": "conso {line}, il vous reste jusqu'au {end} : {parts}. "
                   "Hors forfait : {amount}.",
        "consult_payg": "conso {line}, consommé ce cycle-ci (jusqu'au {end}) : {parts}. "
                        "Dépensé : {amount}.",
        "consult_payg_limit": "conso {line}, consommé ce cycle-ci (jusqu'au {end}) : "
                              "{parts}. Dépensé : {amount} sur votre limite de {limit}.",
        "help": "conso : envoyez CONSULT au 1921 pour voir votre consommation et ce qu'il "
                "vous reste ce cycle-ci.",
        "subject": "Votre consommation : {what}",
    },
    "nl": {
        "pct": "conso: u hebt {pct} van uw {bundle} gebruikt: {used} van {included}, "
               "nog {remaining} over tot en met {end}.",
        "pct100": "conso: uw {bundle} ({included}) {used_up}. Verder gebruik wordt "
                  "aangerekend tot uw bundel op {renew} vernieuwd wordt.",
        "extra": "conso: uw kosten buiten de bundel bedragen deze periode {amount} "
                 "(melding bij {value}). De periode eindigt op {end}.",
        "spend": "conso: uw kosten bedragen deze periode {amount} (melding bij {value}). "
                 "De periode eindigt op {end}.",
        "limit": "conso: u hebt {pct} van uw uitgavenlimiet van {limit} gebruikt "
                 "({amount} uitgegeven). De periode eindigt op {end}.",
        "limit100": "conso: uw uitgavenlimiet van {limit} is bereikt. Betalende diensten "
                    "zijn geblokkeerd tot het einde van de periode op {end}; gratis "
                    "'bel me'-berichten blijven mogelijk.",
        "volume": "conso: u hebt {pct} van uw maandvolume gebruikt: {used} van {included}, "
                  "nog {remaining} over tot en met {end}.",
        "volume100": "conso: uw maandvolume ({included}) is op. Het wordt vernieuwd op "
                     "{renew}.",
        "heavy": "conso: uw verbruik deze maand ({used}) nadert de drempel voor redelijk "
                 "gebruik van {threshold}. De periode eindigt op {end}.",
        "roaming80": "conso: dataroaming buiten de EU/EER heeft deze periode al {spent} "
                     "gekost, {pct} van uw plafond van {cap}. Bij het plafond stopt "
                     "dataroaming tot en met {end}, tenzij u ervoor kiest door te gaan.",
        "roaming100": "conso: dataroaming buiten de EU/EER heeft uw plafond van {cap} "
                      "bereikt en is gestopt tot en met {end}. Wilt u doorgaan? Stuur "
                      "CONTINUE naar 1921 of gebruik het portaal.",
        "continued": "conso: dataroaming buiten de EU/EER is hervat tot het einde van de "
                     "periode op {end}, aan de roamingtarieven.",
        "not_capped": "conso: dataroaming is niet gestopt op uw lijn: er is niets te "
                      "hervatten.",
        "consult": "conso {line}, nog over tot en met {end}: {parts}. "
                   "Buiten bundel: {amount}.",
        "consult_payg": "conso {line}, verbruikt deze periode (tot en met {end}): {parts}. "
                        "Uitgegeven: {amount}.",
        "consult_payg_limit": "conso {line}, verbruikt deze periode (tot en met {end}): "
                              "{parts}. Uitgegeven: {amount} van uw limiet van {limit}.",
        "help": "conso: stuur CONSULT naar 1921 om uw verbruik te zien en wat er deze "
                "periode overblijft.",
        "subject": "Uw verbruik: {what}",
    },
}

# -- what an admin or the operator changed on the line (SMS from 8644) ---------------

# A barring function with its article, as a sentence names it.
_FUNCTION = {
    "en": {"data": "mobile data", "voice_out": "outgoing calls",
           "voice_in": "incoming calls", "voice_out_roaming": "outgoing calls abroad",
           "voice_in_roaming": "incoming calls abroad", "sms_out": "sending SMS",
           "premium": "premium services"},
    "fr": {"data": "les données mobiles", "voice_out": "les appels sortants",
           "voice_in": "les appels entrants",
           "voice_out_roaming": "les appels sortants à l'étranger",
           "voice_in_roaming": "les appels entrants à l'étranger",
           "sms_out": "l'envoi de SMS", "premium": "les services premium"},
    "nl": {"data": "mobiele data", "voice_out": "uitgaande gesprekken",
           "voice_in": "inkomende gesprekken",
           "voice_out_roaming": "uitgaande gesprekken in het buitenland",
           "voice_in_roaming": "inkomende gesprekken in het buitenland",
           "sms_out": "het versturen van sms'en", "premium": "premiumdiensten"},
}

_AND = {"en": "and", "fr": "et", "nl": "en"}

_S = {
    "en": {
        "admin": "your administrator", "operator": "your operator",
        "barred": "conso: {who} has blocked {barred} on your line.",
        "lifted": "conso: {who} has unblocked {lifted} on your line.",
        "both": "conso: {who} has blocked {barred} and unblocked {lifted} on your line.",
        "limit_set": "conso: {who} has set a spending limit of {new} a cycle on your line. "
                     "At the limit, paid services are blocked until the cycle ends.",
        "limit_changed": "conso: {who} has changed your spending limit from {old} to {new} "
                         "a cycle.",
        "limit_removed": "conso: {who} has removed the spending limit of {old} from your "
                         "line.",
        "limit_dropped": "conso: your line has moved to the {plan} plan, so your spending "
                         "limit of {old} no longer applies. A new limit can be set in the "
                         "portal.",
    },
    "fr": {
        "admin": "votre administrateur", "operator": "votre opérateur",
        "barred": "conso : {who} a bloqué {barred} sur votre ligne.",
        "lifted": "conso : {who} a débloqué {lifted} sur votre ligne.",
        "both": "conso : {who} a bloqué {barred} et débloqué {lifted} sur votre ligne.",
        "limit_set": "conso : {who} a fixé une limite de dépenses de {new} par cycle sur "
                     "votre ligne. Une fois la limite atteinte, les services payants sont "
                     "bloqués jusqu'à la fin du cycle.",
        "limit_changed": "conso : {who} a modifié votre limite de dépenses : {new} par "
                         "cycle au lieu de {old}.",
        "limit_removed": "conso : {who} a supprimé la limite de dépenses de {old} de votre "
                         "ligne.",
        "limit_dropped": "conso : votre ligne est passée au forfait {plan} ; votre limite "
                         "de dépenses de {old} ne s'applique donc plus. Vous pouvez en "
                         "fixer une nouvelle sur le portail.",
    },
    "nl": {
        "admin": "uw beheerder", "operator": "uw operator",
        "barred": "conso: {who} heeft {barred} geblokkeerd op uw lijn.",
        "lifted": "conso: {who} heeft {lifted} weer vrijgegeven op uw lijn.",
        "both": "conso: {who} heeft {barred} geblokkeerd en {lifted} weer vrijgegeven op "
                "uw lijn.",
        "limit_set": "conso: {who} heeft een uitgavenlimiet van {new} per periode ingesteld "
                     "op uw lijn. Bij de limiet worden betalende diensten geblokkeerd tot "
                     "het einde van de periode.",
        "limit_changed": "conso: {who} heeft uw uitgavenlimiet gewijzigd van {old} naar "
                         "{new} per periode.",
        "limit_removed": "conso: {who} heeft de uitgavenlimiet van {old} van uw lijn "
                         "verwijderd.",
        "limit_dropped": "conso: uw lijn is overgestapt naar het abonnement {plan}; uw "
                         "uitgavenlimiet van {old} geldt daardoor niet meer. U kunt een "
                         "nieuwe limiet instellen op het portaal.",
    },
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class Figures:
    """Used, included and remaining of one service, in one unit, adding up."""

    used: str
    included: str
    remaining: str


def _lang(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def _grouped(whole: int, lang: str) -> str:
    """A whole number with thousands grouped: 3,000 / 3 000 / 3.000 (from 10,000 in
    French and Dutch, where four digits stand alone: 3000)."""
    text = str(whole)
    if len(text) <= 3 or (lang != "en" and len(text) <= 4):
        return text
    sep = {"en": ",", "fr": " ", "nl": "."}[lang]
    groups = []
    while text:
        groups.append(text[-3:])
        text = text[:-3]
    return sep.join(reversed(groups))


def _number(tenths: int, lang: str, *, decimal: bool) -> str:
    """A count of tenths as "9.0" / "9,0" (decimal) or a whole "9" (rounded half up)."""
    if not decimal:
        return _grouped((tenths + 5) // 10, lang)
    point = "." if lang == "en" else ","
    return f"{_grouped(tenths // 10, lang)}{point}{tenths % 10}"


def percent(value: int, language: str | None) -> str:
    """90% (English, Dutch) or 90 % (French)."""
    return f"{value} %" if _lang(language) == "fr" else f"{value}%"


def service_name(service: Service, language: str | None) -> str:
    """A service as the texts name it ("calls", "appels", "bellen")."""
    return _SERVICE[_lang(language)][service]


def bundle_name(service: Service, language: str | None) -> str:
    """A service's part of the bundle after "your": "calls bundle", "appels inclus"."""
    return _BUNDLE[_lang(language)][service]


def volume_name(language: str | None) -> str:
    """An internet line's monthly volume, as the texts name it."""
    return _VOLUME[_lang(language)]


def money(micros: int, language: str | None) -> str:
    """€1,234.56 / 1 234,56 € / € 1.234,56 (half a cent rounds up)."""
    lang = _lang(language)
    cents = (micros + 5_000) // 10_000
    whole = _grouped(cents // 100, lang)
    if lang == "en":
        return f"€{whole}.{cents % 100:02d}"
    text = f"{whole},{cents % 100:02d}"
    return f"{text} €" if lang == "fr" else f"€ {text}"


def _data_scale(scale: int) -> tuple[int, int, int]:
    """For data figures up to `scale` bytes: (index of the unit, bytes a unit, tenths
    shown: 1 for one decimal, 0 for whole units)."""
    if scale >= 100 * BYTES_PER_GB:
        return 2, BYTES_PER_GB, 0
    if scale >= BYTES_PER_GB:
        return 2, BYTES_PER_GB, 1
    if scale >= BYTES_PER_MB or scale == 0:
        return 1, BYTES_PER_MB, 0
    return 0, BYTES_PER_KB, 0


def _steps(amount: int, unit: int, tenths: int, *, up: bool = False) -> int:
    """`amount` in the unit's shown steps (tenths or wholes), rounded half up (or up)."""
    step = unit // 10 if tenths else unit
    whole = -(-amount // step) if up else (amount + step // 2) // step
    return whole if tenths else whole * 10


def quantity(service: Service, amount: int, language: str | None, *,
             used: bool = False, unit_of: int | None = None) -> str:
    """A quantity as people read it. Seconds show as whole minutes, used ones rounded up.
    Data picks its unit from `unit_of` (the largest figure of the sentence, so that
    "9.0 GB of 10 GB" share one unit) or else from the amount itself; alone, a whole
    number of GB drops its decimal ("10 GB")."""
    lang = _lang(language)
    if service is Service.VOICE:
        minutes = -(-amount // SECONDS_PER_MINUTE) if used else amount // SECONDS_PER_MINUTE
        return f"{_grouped(minutes, lang)} min"
    if service is not Service.DATA:
        return f"{_grouped(amount, lang)} {'sms' if lang == 'nl' else 'SMS'}"
    index, unit, tenths = _data_scale(amount if unit_of is None else unit_of)
    shown = _steps(amount, unit, tenths)
    if amount and not shown:
        shown = 1 if tenths else 10        # a little is not nothing: "0.1 GB", "1 kB"
    decimal = bool(tenths) and (unit_of is not None or shown % 10 != 0)
    return f"{_number(shown, lang, decimal=decimal)} {_BYTES[lang][index]}"


def figures(service: Service, used: int, included: int, language: str | None) -> Figures:
    """Used, included and remaining in one unit, so that the shown used and remaining
    add up to the shown allowance: minutes used round up (a started minute counts),
    data rounds to the shown step, and the remaining is the allowance less the used."""
    lang = _lang(language)
    if service is Service.VOICE:
        used_min = -(-used // SECONDS_PER_MINUTE)
        included_min = included // SECONDS_PER_MINUTE
        return Figures(f"{_grouped(used_min, lang)} min", f"{_grouped(included_min, lang)} min",
                       f"{_grouped(max(0, included_min - used_min), lang)} min")
    if service is not Service.DATA:
        return Figures(quantity(service, used, lang), quantity(service, included, lang),
                       quantity(service, max(0, included - used), lang))
    index, unit, tenths = _data_scale(max(used, included))
    name = _BYTES[lang][index]
    used_steps = _steps(used, unit, tenths)
    included_steps = _steps(included, unit, tenths)
    remaining_steps = max(0, included_steps - used_steps)
    decimal = bool(tenths)
    return Figures(
        f"{_number(used_steps, lang, decimal=decimal)} {name}",
        f"{_number(included_steps, lang, decimal=decimal and included_steps % 10 != 0)} "
        f"{name}",
        f"{_number(remaining_steps, lang, decimal=decimal)} {name}")


def day(at: datetime | date, language: str | None, *, days_before: int = 0) -> str:
    """A day as people write it: "30 Nov 2026" (English), "30/11/2026" (French, Dutch).
    A datetime is taken in Brussels time."""
    local = at.astimezone(CYCLE_TZ).date() if isinstance(at, datetime) else at
    local -= timedelta(days=days_before)
    if _lang(language) == "en":
        return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"
    return local.strftime("%d/%m/%Y")


def last_day(summary: UsageSummary, language: str | None) -> str:
    """The cycle's last day, as people say it ("until 30 Nov"); it ends at the next
    midnight."""
    return day(summary.cycle_end, language, days_before=1)


def reached(crossing: Crossing, language: str | None, limit_micros: int | None = None, *,
            pay_per_use: bool = False) -> str:
    """What was crossed, in words: "90% of your calls bundle" (a subject, an e-mail).
    For the roaming cap, `limit_micros` is the cap."""
    lang = _lang(language)
    words = _REACHED[lang]
    rule = crossing.rule
    pct = percent(rule.value, lang)
    if rule.kind is RuleKind.INCLUDED_PCT:
        return words["included_pct"].format(
            pct=pct, bundle=_BUNDLE[lang][crossing.service or Service.DATA])
    if rule.kind is RuleKind.LIMIT_PCT:
        return words["limit_pct"].format(pct=pct, limit=money(limit_micros or 0, lang))
    if rule.kind is RuleKind.EXTRA_EUR:
        key = "spend_eur" if pay_per_use else "extra_eur"
        return words[key].format(value=money(rule.value * MICROS_PER_EURO, lang))
    if rule.kind is RuleKind.ROAMING_CAP_PCT:
        return words["roaming_cap_pct"].format(pct=pct, cap=money(limit_micros or 0, lang))
    return words[rule.kind.value].format(pct=pct)


def notification(crossing: Crossing, summary: UsageSummary, language: str | None,
                 limit_micros: int | None = None, *,
                 roaming_spent_micros: int | None = None) -> Rendered:
    """A crossed threshold's text and subject. `limit_micros`: the spending limit, or
    for the roaming data cap (`roaming_cap_pct`) the cap, with `roaming_spent_micros`
    what data outside the EU/EEA cost this cycle."""
    lang = _lang(language)
    t = _T[lang]
    rule = crossing.rule
    end = last_day(summary, lang)
    value = rule.value
    pay_per_use = summary.plan.kind is PlanKind.PAYG
    subject = t["subject"].format(
        what=reached(crossing, lang, limit_micros, pay_per_use=pay_per_use))
    if rule.kind is RuleKind.ROAMING_CAP_PCT:
        cap = limit_micros or 0
        # Without the spend, the threshold's own share of the cap (what was passed).
        spent = cap * value // 100 if roaming_spent_micros is None else roaming_spent_micros
        return Rendered(subject, roaming_cap_text(
            value, cap, spent,
            summary.cycle_end.astimezone(CYCLE_TZ).date() - timedelta(days=1), lang).text)
    fields: dict[str, str]
    if rule.kind in (RuleKind.INCLUDED_PCT, RuleKind.VOLUME_PCT):
        service = crossing.service or Service.DATA
        shown = _service_figures(service, summary.services[service], lang)
        fields = {"pct": percent(value, lang), "bundle": _BUNDLE[lang][service], "end": end,
                  "used": shown.used, "included": shown.included,
                  "remaining": shown.remaining, "renew": day(summary.cycle_end, lang),
                  "used_up": _USED_UP[lang][service]}
        volume = rule.kind is RuleKind.VOLUME_PCT
        key = ("volume" if volume else "pct") + ("100" if value >= 100 else "")
    elif rule.kind is RuleKind.HEAVY_USER:
        used = summary.services[Service.DATA].used
        threshold = summary.plan.heavy_user_bytes or 0
        scale = max(used, threshold)
        fields = {"used": quantity(Service.DATA, used, lang, unit_of=scale), "end": end,
                  "threshold": quantity(Service.DATA, threshold, lang)}
        key = "heavy"
    elif rule.kind is RuleKind.LIMIT_PCT:
        fields = {"pct": percent(value, lang), "limit": money(limit_micros or 0, lang),
                  "amount": money(summary.extra_micros, lang), "end": end}
        key = "limit100" if value >= 100 else "limit"
    else:
        fields = {"amount": money(summary.extra_micros, lang),
                  "value": money(value * MICROS_PER_EURO, lang), "end": end}
        key = "spend" if pay_per_use else "extra"
    return Rendered(subject, t[key].format(**fields))


def _service_figures(service: Service, figures_: ServiceSummary, lang: str) -> Figures:
    return figures(service, figures_.used, figures_.included or 0, lang)


def roaming_cap_text(pct: int, cap_micros: int, spent_micros: int,
                     summary_end_day: str | date, language: str | None) -> Rendered:
    """The roaming data cap's SMS (rules.md, "Roaming data cap"): at 80 % what data
    outside the EU/EEA has cost and that it stops at the cap; at 100 % that it is
    stopped and how to go on (CONTINUE to 1921, or the portal). `summary_end_day` is
    the cycle's last day (a date or "YYYY-MM-DD")."""
    lang = _lang(language)
    t = _T[lang]
    last = (summary_end_day if isinstance(summary_end_day, date)
            else date.fromisoformat(summary_end_day))
    cap = money(cap_micros, lang)
    text = t["roaming100" if pct >= 100 else "roaming80"].format(
        pct=percent(pct, lang), cap=cap, spent=money(spent_micros, lang),
        end=day(last, lang))
    what = _REACHED[lang]["roaming_cap_pct"].format(pct=percent(pct, lang), cap=cap)
    return Rendered(t["subject"].format(what=what), text)


def continue_reply(resumed_until: str | date | None, language: str | None) -> str:
    """The reply from 1921 to CONTINUE: data roaming resumed until the cycle's last day
    (`resumed_until`), or, None, that nothing was stopped."""
    lang = _lang(language)
    if resumed_until is None:
        return _T[lang]["not_capped"]
    last = (resumed_until if isinstance(resumed_until, date)
            else date.fromisoformat(resumed_until))
    return _T[lang]["continued"].format(end=day(last, lang))


def roaming_continue_reply(summary: UsageSummary, language: str | None, *,
                           capped: bool) -> str:
    """The reply from 1921 to CONTINUE: `capped`, data roaming outside the EU/EEA was
    stopped at the cap and is resumed until the cycle's last day; otherwise nothing
    was stopped, nothing changes."""
    if not capped:
        return continue_reply(None, language)
    return continue_reply(summary.cycle_end.astimezone(CYCLE_TZ).date() - timedelta(days=1),
                          language)


def consult_reply(summary: UsageSummary, language: str | None,
                  limit_micros: int | None = None) -> str:
    """The reply from 1921 to CONSULT. A bundle line hears what is left; a pay-per-use
    line, which has no bundle, what it used and spent (and of which limit, if set)."""
    lang = _lang(language)
    t = _T[lang]
    pay_per_use = summary.plan.kind is PlanKind.PAYG
    parts = []
    for service, shown in summary.services.items():
        if pay_per_use:
            amount = quantity(service, shown.used, lang, used=True)
        elif shown.remaining is not None:
            amount = quantity(service, shown.remaining, lang)
        elif service in summary.plan.unlimited:
            parts.append(_UNLIMITED[lang][service])
            continue
        else:
            amount = quantity(service, shown.used, lang, used=True)
        parts.append(_OF_SERVICE[lang][service].format(q=amount))
    key = "consult"
    if pay_per_use:
        key = "consult_payg" if limit_micros is None else "consult_payg_limit"
    return t[key].format(line=summary.line, end=last_day(summary, lang),
                         parts=", ".join(parts), amount=money(summary.extra_micros, lang),
                         limit=money(limit_micros or 0, lang))


def help_text(language: str | None) -> str:
    return _T[_lang(language)]["help"]


# -- changes an admin or the operator made -------------------------------------------


def _listed(items: Sequence[str], lang: str) -> str:
    """"a", "a and b", "a, b and c" (no serial comma: not in French or Dutch either)."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_AND[lang]} {items[-1]}"


def _who(by_operator: bool, lang: str) -> str:
    return _S[lang]["operator" if by_operator else "admin"]


def barring_text(barred: Sequence[str], lifted: Sequence[str], language: str | None, *,
                 by_operator: bool = False) -> str:
    """The SMS telling a line's user which functions were just barred and which lifted
    (names as control.BARRING_FUNCTIONS, in that order)."""
    lang = _lang(language)
    s = _S[lang]
    names = _FUNCTION[lang]
    fields = {"who": _who(by_operator, lang),
              "barred": _listed([names[f] for f in barred], lang),
              "lifted": _listed([names[f] for f in lifted], lang)}
    key = "both" if barred and lifted else ("barred" if barred else "lifted")
    return s[key].format(**fields)


def limit_text(old_micros: int | None, new_micros: int | None, language: str | None, *,
               by_operator: bool = False) -> str:
    """The SMS telling a line's user their spending limit was set, changed or removed."""
    lang = _lang(language)
    key = ("limit_set" if old_micros is None else
           "limit_removed" if new_micros is None else "limit_changed")
    return _S[lang][key].format(who=_who(by_operator, lang),
                                old=money(old_micros or 0, lang),
                                new=money(new_micros or 0, lang))


def limit_dropped_text(old_micros: int, plan_name: str, language: str | None) -> str:
    """The SMS telling a line's user that a plan change removed their spending limit."""
    lang = _lang(language)
    return _S[lang]["limit_dropped"].format(old=money(old_micros, lang), plan=plan_name)
