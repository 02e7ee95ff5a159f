"""Message texts in English, French and Dutch (pure: no I/O).

Each text says what was reached, the figures (used / included / remaining, or
the amount) and when the cycle ends. SMS texts stay short; e-mails get a subject and
a fuller body around the same sentence (email_body.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from conso.domain.alerts import Crossing, RuleKind
from conso.domain.consult import UsageSummary
from conso.domain.cycle import CYCLE_TZ
from conso.domain.units import BYTES_PER_GB, BYTES_PER_MB, MICROS_PER_EURO, Service

LANGUAGES = ("en", "fr", "nl")

_SERVICE = {
    "en": {Service.VOICE: "calls", Service.SMS: "SMS", Service.DATA: "mobile data"},
    "fr": {Service.VOICE: "appels", Service.SMS: "SMS", Service.DATA: "données mobiles"},
    "nl": {Service.VOICE: "bellen", Service.SMS: "sms", Service.DATA: "mobiele data"},
}

# What an internet line's volume is called in a subject (it is no "mobile data").
_VOLUME = {"en": "monthly volume", "fr": "volume mensuel", "nl": "maandvolume"}

_T = {
    "en": {
        "pct": "conso: you have used {pct}% of your {service} bundle: {used} of {included}, "
               "{remaining} left until {end}.",
        "pct100": "conso: your {service} bundle ({included}) is used up. Further use is "
                  "charged until {end}.",
        "extra": "conso: your extra spend this cycle has reached {amount} (alert at {value}). "
                 "The cycle ends on {end}.",
        "limit": "conso: you have used {pct}% of your {limit} spending limit ({amount}). "
                 "The cycle ends on {end}.",
        "limit100": "conso: your {limit} spending limit is reached. Paid services are "
                    "blocked until {end}; free 'call me' messages still work.",
        "volume": "conso: you have used {pct}% of your monthly volume: {used} of {included}, "
                  "{remaining} left until {end}.",
        "volume100": "conso: your monthly volume ({included}) is used up. It renews on {renew}.",
        "heavy": "conso: your usage this month ({used}) is nearing the fair-use threshold "
                 "of {threshold}. The month ends on {end}.",
        "consult": "conso {line}, left until {end}: {parts}. Extra spend: {amount}.",
        "unlimited": "unlimited data",
        "used": "{q} used",
        "data": "{q} data",
        "data_used": "{q} of data used",
        "help": "conso: text CONSULT to 1921 to see what is left of your bundle this month.",
        "subject": "Your consumption: {what}",
    },
    "fr": {
        "pct": "conso : vous avez utilisé {pct} % de vos {service} : {used} sur {included}, "
               "il reste {remaining} jusqu'au {end}.",
        "pct100": "conso : vos {service} ({included}) sont {exhausted}. L'usage est facturé "
                  "jusqu'au {end}.",
        "extra": "conso : vos dépenses hors forfait atteignent {amount} (alerte à {value}). "
                 "Le cycle se termine le {end}.",
        "limit": "conso : vous avez utilisé {pct} % de votre limite de dépenses de {limit} "
                 "({amount}). Le cycle se termine le {end}.",
        "limit100": "conso : votre limite de dépenses de {limit} est atteinte. Les services "
                    "payants sont bloqués jusqu'au {end} ; les messages \"rappelle-moi\" "
                    "gratuits restent possibles.",
        "volume": "conso : vous avez utilisé {pct} % de votre volume mensuel : {used} sur "
                  "{included}, il reste {remaining} jusqu'au {end}.",
        "volume100": "conso : votre volume mensuel ({included}) est épuisé. Il se renouvelle "
                     "le {renew}.",
        "heavy": "conso : votre usage ce mois-ci ({used}) approche du seuil d'usage "
                 "raisonnable de {threshold}. Le mois se termine le {end}.",
        "consult": "conso {line}, reste jusqu'au {end} : {parts}. Hors forfait : {amount}.",
        "unlimited": "données illimitées",
        "used": "{q} utilisés",
        "data": "{q} de données",
        "data_used": "{q} de données utilisés",
        "help": "conso : envoyez CONSULT au 1921 pour voir ce qu'il reste de votre forfait "
                "ce mois-ci.",
        "subject": "Votre consommation : {what}",
    },
    "nl": {
        "pct": "conso: u hebt {pct}% van uw {service} gebruikt: {used} van {included}, "
               "nog {remaining} tot {end}.",
        "pct100": "conso: uw {service} ({included}) zijn op. Verder gebruik wordt "
                  "aangerekend tot {end}.",
        "extra": "conso: uw extra verbruik deze periode bedraagt {amount} (melding bij "
                 "{value}). De periode eindigt op {end}.",
        "limit": "conso: u hebt {pct}% van uw uitgavenlimiet van {limit} gebruikt ({amount}). "
                 "De periode eindigt op {end}.",
        "limit100": "conso: uw uitgavenlimiet van {limit} is bereikt. Betalende diensten zijn "
                    "geblokkeerd tot {end}; gratis 'bel me'-berichten blijven mogelijk.",
        "volume": "conso: u hebt {pct}% van uw maandvolume gebruikt: {used} van {included}, "
                  "nog {remaining} tot {end}.",
        "volume100": "conso: uw maandvolume ({included}) is op. Het wordt vernieuwd op {renew}.",
        "heavy": "conso: uw verbruik deze maand ({used}) nadert de drempel voor redelijk "
                 "gebruik van {threshold}. De maand eindigt op {end}.",
        "consult": "conso {line}, nog tot {end}: {parts}. Extra verbruik: {amount}.",
        "unlimited": "onbeperkte data",
        "used": "{q} gebruikt",
        "data": "{q} data",
        "data_used": "{q} data gebruikt",
        "help": "conso: stuur CONSULT naar 1921 om te zien wat er deze maand van uw bundel "
                "overblijft.",
        "subject": "Uw verbruik: {what}",
    },
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str


def _lang(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def _decimal(value: float, lang: str, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    if digits and text.endswith("0" * digits):
        text = text[: -digits - 1]
    return text.replace(".", ",") if lang != "en" else text


def service_name(service: Service, language: str | None) -> str:
    """A service as the texts name it ("calls", "appels", "bellen")."""
    return _SERVICE[_lang(language)][service]


def volume_name(language: str | None) -> str:
    """An internet line's monthly volume, as the texts name it."""
    return _VOLUME[_lang(language)]


def money(micros: int, language: str | None) -> str:
    lang = _lang(language)
    cents = (micros + 5_000) // 10_000
    text = f"{cents // 100}.{cents % 100:02d}"
    if lang == "en":
        return f"€{text}"
    text = text.replace(".", ",")
    return f"{text} €" if lang == "fr" else f"€ {text}"


def quantity(service: Service, amount: int, language: str | None, *,
             used: bool = False) -> str:
    """A quantity as people read it. Seconds show as whole minutes: used ones rounded
    up and the rest down, so that used and remaining add up to the allowance."""
    lang = _lang(language)
    if service is Service.VOICE:
        return f"{-(-amount // 60) if used else amount // 60} min"
    if service is Service.SMS:
        return f"{amount} SMS" if lang != "nl" else f"{amount} sms"
    if amount >= BYTES_PER_GB:
        return f"{_decimal(amount / BYTES_PER_GB, lang)} GB"
    return f"{_decimal(amount / BYTES_PER_MB, lang, 0)} MB"


def day(at: datetime, language: str | None, *, days_before: int = 0) -> str:
    local = at.astimezone(CYCLE_TZ).date() - timedelta(days=days_before)
    return local.strftime("%d/%m/%Y") if _lang(language) != "en" else local.isoformat()


def last_day(summary: UsageSummary, language: str | None) -> str:
    """The cycle's last day, as people say it ("until 30/11"); it ends at the next midnight."""
    return day(summary.cycle_end, language, days_before=1)


def notification(crossing: Crossing, summary: UsageSummary, language: str | None,
                 limit_micros: int | None = None) -> Rendered:
    lang = _lang(language)
    t = _T[lang]
    rule = crossing.rule
    end = last_day(summary, lang)
    value = rule.value
    if rule.kind in (RuleKind.INCLUDED_PCT, RuleKind.VOLUME_PCT):
        service = crossing.service or Service.DATA
        figures = summary.services[service]
        included = figures.included or 0
        fields = {"pct": value, "service": _SERVICE[lang][service], "end": end,
                  "used": quantity(service, figures.used, lang, used=True),
                  "included": quantity(service, included, lang),
                  "remaining": quantity(service, figures.remaining or 0, lang),
                  "renew": day(summary.cycle_end, lang),
                  # French agrees in gender: "données" is feminine.
                  "exhausted": "épuisées" if service is Service.DATA else "épuisés"}
        volume = rule.kind is RuleKind.VOLUME_PCT
        key = ("volume" if volume else "pct") + ("100" if value >= 100 else "")
        name = _VOLUME[lang] if volume else _SERVICE[lang][service]
        what = f"{name} {value}%"
    elif rule.kind is RuleKind.HEAVY_USER:
        figures = summary.services[Service.DATA]
        threshold = summary.plan.heavy_user_bytes or 0
        fields = {"used": quantity(Service.DATA, figures.used, lang), "end": end,
                  "threshold": quantity(Service.DATA, threshold, lang)}
        key, what = "heavy", f"{_VOLUME[lang]} {value}%"
    elif rule.kind is RuleKind.LIMIT_PCT:
        limit = money(limit_micros or 0, lang)
        fields = {"pct": value, "limit": limit, "amount": money(summary.extra_micros, lang),
                  "end": end}
        key, what = ("limit100" if value >= 100 else "limit"), f"{limit} {value}%"
    else:
        amount = money(summary.extra_micros, lang)
        fields = {"amount": amount, "value": money(value * MICROS_PER_EURO, lang), "end": end}
        key, what = "extra", amount
    return Rendered(t["subject"].format(what=what), t[key].format(**fields))


def consult_reply(summary: UsageSummary, language: str | None) -> str:
    lang = _lang(language)
    t = _T[lang]
    parts = []
    for service, figures in summary.services.items():
        data = service is Service.DATA
        if figures.remaining is not None:
            amount = quantity(service, figures.remaining, lang)
            left = t["data"].format(q=amount) if data else amount
        elif figures.included is None and service in summary.plan.unlimited:
            left = t["unlimited"]
        else:
            used = quantity(service, figures.used, lang, used=True)
            left = t["data_used" if data else "used"].format(q=used)
        parts.append(left)
    return t["consult"].format(line=summary.line, end=last_day(summary, lang),
                               parts=", ".join(parts),
                               amount=money(summary.extra_micros, lang))


def help_text(language: str | None) -> str:
    return _T[_lang(language)]["help"]
