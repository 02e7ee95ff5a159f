"""An e-mail notification's body: a fuller plain text and its HTML alternative (pure).

The news is the SMS's (templates.notification), in the line's language; the e-mail
adds a greeting, the line, the cycle, what was crossed and a link to the line's page
on the portal. The HTML is the same message, minimal: inline styles only, nothing
loaded from elsewhere (no image, font or stylesheet), every value escaped.

No I/O and no clock here: everything comes from the crossing and the summary.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import quote

from conso.domain.alerts import Crossing
from conso.domain.catalog import PlanKind
from conso.domain.consult import UsageSummary
from conso.notify import templates

DEFAULT_PORTAL_URL = "http://127.0.0.1:8000"
# The portal's page of one line (conso.web.routes.line_page).
LINE_PAGE = "/portal/lines/{line_id}"

_WORDS = {
    "en": {
        "greeting": "Hello,",
        "colon": ":",
        "line": "Line",
        "cycle": "Cycle",
        "reached": "Reached",
        "period": "{start} to {end}",
        "link": "See your line in the portal",
        "footer": "This message was sent automatically by conso; replies are not read.",
    },
    "fr": {
        "greeting": "Bonjour,",
        "colon": " :",
        "line": "Ligne",
        "cycle": "Cycle",
        "reached": "Seuil atteint",
        "period": "du {start} au {end}",
        "link": "Voir votre ligne sur le portail",
        "footer": "Ce message a été envoyé automatiquement par conso ; les réponses ne "
                  "sont pas lues.",
    },
    "nl": {
        "greeting": "Hallo,",
        "colon": ":",
        "line": "Lijn",
        "cycle": "Periode",
        "reached": "Bereikt",
        "period": "{start} tot en met {end}",
        "link": "Bekijk uw lijn op het portaal",
        "footer": "Dit bericht werd automatisch verstuurd door conso; antwoorden worden "
                  "niet gelezen.",
    },
}

# The SMS texts start with the sender's name ("conso: ", "conso : "); the From says it.
_SMS_PREFIX = re.compile(r"^conso\s?:\s*")

_BODY = ("margin:0;padding:16px;background:#ffffff;color:#1f2328;"
         "font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.45")
_NEWS = "margin:0 0 16px;font-size:16px;font-weight:bold"
_LABEL = ("text-align:left;vertical-align:top;padding:2px 16px 2px 0;font-weight:normal;"
          "color:#59636e")
_VALUE = "text-align:left;vertical-align:top;padding:2px 0"
_LINK = "color:#0b57d0;text-decoration:underline"
_FOOTER = "margin:24px 0 0;font-size:12px;color:#59636e"


@dataclass(frozen=True, slots=True)
class EmailBody:
    subject: str
    text: str
    html: str


def language_of(language: str | None) -> str:
    return language if language in _WORDS else "en"


def line_url(portal_url: str, line_id: str) -> str:
    """The line's page on the portal; the line id is one path segment ("+" too)."""
    return portal_url.rstrip("/") + LINE_PAGE.format(line_id=quote(line_id, safe=""))


def news(text: str) -> str:
    """The SMS's sentence as an e-mail's: without the sender's name, capitalised."""
    sentence = _SMS_PREFIX.sub("", text, count=1)
    return sentence[:1].upper() + sentence[1:]


def reached(crossing: Crossing, language: str | None,
            limit_micros: int | None = None, *, pay_per_use: bool = False) -> str:
    """What was crossed, in words: "90% of your calls bundle" (the subject's words)."""
    return templates.reached(crossing, language_of(language), limit_micros,
                             pay_per_use=pay_per_use)


def email_body(crossing: Crossing, summary: UsageSummary, language: str | None, *,
               portal_url: str = DEFAULT_PORTAL_URL,
               limit_micros: int | None = None) -> EmailBody:
    lang = language_of(language)
    words = _WORDS[lang]
    rendered = templates.notification(crossing, summary, lang, limit_micros)
    headline = news(rendered.text)
    period = words["period"].format(start=templates.day(summary.cycle_start, lang),
                                    end=templates.last_day(summary, lang))
    pay_per_use = summary.plan.kind is PlanKind.PAYG
    facts = [(words["line"], summary.line), (words["cycle"], period),
             (words["reached"], reached(crossing, lang, limit_micros,
                                        pay_per_use=pay_per_use))]
    url = line_url(portal_url, summary.line)
    text = "\n".join([
        words["greeting"], "", headline, "",
        *(f"{label}{words['colon']} {value}" for label, value in facts), "",
        f"{words['link']}{words['colon']}", url, "",
        "-- ", words["footer"], "",
    ])
    return EmailBody(rendered.subject, text,
                     _html(lang, rendered.subject, headline, facts, url=url))


def _html(lang: str, subject: str, headline: str, facts: list[tuple[str, str]], *,
          url: str) -> str:
    words = _WORDS[lang]

    def e(value: str) -> str:
        return html.escape(value, quote=True)

    rows = "\n".join(
        f'<tr><th scope="row" style="{_LABEL}">{e(label)}</th>'
        f'<td style="{_VALUE}">{e(value)}</td></tr>'
        for label, value in facts)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{e(lang)}">\n'
        '<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(subject)}</title></head>\n"
        f'<body style="{_BODY}">\n'
        f'<p style="margin:0 0 12px">{e(words["greeting"])}</p>\n'
        f'<p style="{_NEWS}">{e(headline)}</p>\n'
        f'<table role="presentation" style="border-collapse:collapse;margin:0 0 16px">\n'
        f"{rows}\n</table>\n"
        f'<p style="margin:0"><a href="{e(url)}" style="{_LINK}">{e(words["link"])}</a></p>\n'
        f'<p style="{_FOOTER}">{e(words["footer"])}</p>\n'
        "</body>\n</html>\n"
    )
