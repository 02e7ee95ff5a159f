"""E-mail notification bodies (rules.md, "Notifications": in the user's language):
the SMS's news told in full, in plain text and in HTML, with the line, the cycle, what
was crossed and a link to the line's page on the portal; the HTML escaped and minimal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest

from conso.catalog_file import load_catalog
from conso.domain.alerts import AlertRule, Crossing, RuleKind
from conso.domain.catalog import Plan
from conso.domain.consult import UsageSummary, summarize
from conso.domain.cycle import Cycle
from conso.domain.rating import CycleUsage
from conso.domain.units import MICROS_PER_EURO, Service
from conso.notify.email_body import LINE_PAGE, email_body, line_url, news, reached
from conso.notify.templates import notification

CATALOG = load_catalog(None)
NOVEMBER = Cycle(date(2026, 11, 1))
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LINE = "+32470000001"
PORTAL = "https://portal.example.be"
GB = 10**9
EUR = MICROS_PER_EURO
LANGS = ("en", "fr", "nl")


def summary_of(plan: Plan, spend: int = 0, **meters: int) -> UsageSummary:
    return summarize(LINE, plan, CycleUsage(NOVEMBER, dict(meters), spend, len(meters)), NOW)


KING_SUMMARY = summary_of(CATALOG.plans["king"], 12_340_000, voice=16_200, sms=450,
                          data=9_100_000_000)
VOICE_90 = Crossing(AlertRule(RuleKind.INCLUDED_PCT, 90), Service.VOICE)

ALL_KINDS = [
    (VOICE_90, "king"),
    (Crossing(AlertRule(RuleKind.INCLUDED_PCT, 100), Service.DATA), "king"),
    (Crossing(AlertRule(RuleKind.EXTRA_EUR, 10), None), "king"),
    (Crossing(AlertRule(RuleKind.LIMIT_PCT, 90), None), "payg"),
    (Crossing(AlertRule(RuleKind.VOLUME_PCT, 90), None), "internet-150"),
    (Crossing(AlertRule(RuleKind.HEAVY_USER, 90), None), "internet-unlimited"),
]

# What each language says around the news.
WORDS = {
    "en": {"greeting": "Hello,", "line": f"Line: {LINE}",
           "cycle": "Cycle: 1 Nov 2026 to 30 Nov 2026", "period": "1 Nov 2026 to 30 Nov 2026",
           "reached": "Reached: 90% of your calls bundle",
           "link": "See your line in the portal", "footer": "sent automatically"},
    "fr": {"greeting": "Bonjour,", "line": f"Ligne : {LINE}",
           "cycle": "Cycle : du 01/11/2026 au 30/11/2026",
           "period": "du 01/11/2026 au 30/11/2026",
           "reached": "Seuil atteint : 90 % de vos appels inclus",
           "link": "Voir votre ligne sur le portail", "footer": "envoyé automatiquement"},
    "nl": {"greeting": "Hallo,", "line": f"Lijn: {LINE}",
           "cycle": "Periode: 01/11/2026 tot en met 30/11/2026",
           "period": "01/11/2026 tot en met 30/11/2026",
           "reached": "Bereikt: 90% van uw belminuten",
           "link": "Bekijk uw lijn op het portaal", "footer": "automatisch verstuurd"},
}


class Page(HTMLParser):
    """What an HTML part shows, the tags it uses and every URL it refers to."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.attrs: dict[str, list[str]] = {}
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.setdefault(name, []).append(value or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def shown(self) -> str:
        return " ".join(" ".join(self.text).split())

    @property
    def urls(self) -> list[str]:
        return [v for name in ("href", "src", "background", "action")
                for v in self.attrs.get(name, [])]


@pytest.mark.parametrize("lang", LANGS)
def test_the_email_tells_the_sms_news_with_line_cycle_threshold_and_link(lang: str) -> None:
    body = email_body(VOICE_90, KING_SUMMARY, lang, portal_url=PORTAL)
    sms = notification(VOICE_90, KING_SUMMARY, lang)
    assert body.subject == sms.subject
    headline = news(sms.text)
    assert not headline.lower().startswith("conso")
    assert headline[0].isupper() and headline[1:] in sms.text
    link = f"{PORTAL}/portal/lines/%2B32470000001"
    lines = body.text.splitlines()
    assert lines[0] == WORDS[lang]["greeting"]
    for fragment in (headline, *(WORDS[lang][k] for k in ("line", "cycle", "reached")),
                     WORDS[lang]["link"], WORDS[lang]["footer"]):
        assert fragment in body.text, (fragment, body.text)
    assert link in lines                          # alone on its line: clickable as it is
    assert "-- " in lines                         # the signature separator
    page = Page(body.html)
    assert page.attrs["lang"] == [lang]
    for fragment in (WORDS[lang]["greeting"], headline, LINE, WORDS[lang]["link"],
                     WORDS[lang]["period"]):
        assert fragment in page.shown, (fragment, page.shown)
    assert page.urls == [link]


@pytest.mark.parametrize(("due", "plan"), ALL_KINDS,
                         ids=lambda v: v if isinstance(v, str) else v.rule.kind.value)
def test_every_kind_renders_in_every_language_and_unknown_is_english(
    due: Crossing, plan: str,
) -> None:
    summary = summary_of(CATALOG.plans[plan], 60 * EUR, data=140 * GB)
    bodies = {lang: email_body(due, summary, lang, portal_url=PORTAL, limit_micros=50 * EUR)
              for lang in LANGS}
    assert len({b.text for b in bodies.values()}) == 3
    assert len({b.html for b in bodies.values()}) == 3
    for lang, body in bodies.items():
        sms = notification(due, summary, lang, limit_micros=50 * EUR).text
        assert news(sms) in body.text and reached(due, lang, 50 * EUR) in body.text
        assert "{" not in body.text and "}" not in body.text     # every field filled in
    for unknown in ("de", "", None, "fr-BE"):
        assert email_body(due, summary, unknown, portal_url=PORTAL,
                          limit_micros=50 * EUR) == bodies["en"]


def crossed(kind: RuleKind, value: int, service: Service | None = None) -> Crossing:
    return Crossing(AlertRule(kind, value), service)


@pytest.mark.parametrize(("due", "lang", "words"), [
    (crossed(RuleKind.EXTRA_EUR, 10), "fr", "10,00 € de dépenses hors forfait"),
    (crossed(RuleKind.LIMIT_PCT, 90), "nl", "90% van uw uitgavenlimiet van € 20,00"),
    (crossed(RuleKind.VOLUME_PCT, 90), "en", "90% of your monthly volume"),
    (crossed(RuleKind.HEAVY_USER, 90), "fr", "90 % du seuil d'usage raisonnable"),
    (crossed(RuleKind.INCLUDED_PCT, 75, Service.DATA), "fr",
     "75 % de vos données mobiles incluses"),
])
def test_what_was_crossed_is_named(due: Crossing, lang: str, words: str) -> None:
    assert reached(due, lang, limit_micros=20 * EUR) == words


def test_html_escapes_every_value_and_loads_nothing_from_elsewhere() -> None:
    nasty = '<script>alert("x")</script>&\'"'
    summary = replace(KING_SUMMARY, line=nasty)
    body = email_body(VOICE_90, summary, "en", portal_url='https://p.example/a&b"c<d>')
    assert "<script>" not in body.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;&quot;" in body.html
    page = Page(body.html)
    assert nasty in page.shown                       # shown as written, not run
    assert "script" not in page.tags
    (url,) = page.urls
    # The line id is one path segment, whatever it holds; the portal's address as given.
    assert url == ('https://p.example/a&b"c<d>/portal/lines/'
                   "%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E%26%27%22")
    assert 'href="https://p.example/a&amp;b&quot;c&lt;d&gt;/portal/lines/' in body.html
    # Minimal: inline styles, no stylesheet, image, script, frame or form.
    assert set(page.tags) <= {"html", "head", "meta", "title", "body", "p", "table", "tr",
                              "th", "td", "a"}
    assert "<style" not in body.html and "url(" not in body.html
    assert nasty in body.text                        # plain text is not escaped


def test_the_link_is_the_portals_line_page() -> None:
    from conso.web.routes import router

    paths = {getattr(route, "path", None) for route in router.routes}
    assert LINE_PAGE in paths
    assert line_url("http://127.0.0.1:8000", "+32470000001") == (
        "http://127.0.0.1:8000/portal/lines/%2B32470000001")
    assert line_url("https://portal.example/", "home-lou") == (
        "https://portal.example/portal/lines/home-lou")          # no double slash
    assert line_url("https://op.example/conso", "a/b c") == (
        "https://op.example/conso/portal/lines/a%2Fb%20c")


def test_accents_and_euro_stay_as_they_are() -> None:
    body = email_body(Crossing(AlertRule(RuleKind.EXTRA_EUR, 10), None), KING_SUMMARY, "fr",
                      portal_url=PORTAL)
    news = "Vos dépenses hors forfait ont atteint 12,34 € ce cycle-ci (alerte à 10,00 €)."
    assert news in body.text
    assert news in Page(body.html).shown
    assert body.html.isascii() is False and "&eacute;" not in body.html
