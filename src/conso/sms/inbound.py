"""Texts from subscribers, as the SMS centre hands them over (HTTP or SMPP).

A text to 1921 from one of our lines gets the usage summary (`CONSULT`) or a
help text, from 1921, in the user's language. A sender that is no line of ours
gets nothing at all, so nothing leaks. Each sender may ask 10 times an hour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from conso.charging.ports import ChargingCore
from conso.domain.ids import E164
from conso.notify import templates
from conso.notify.compose import sms_reply
from conso.ratelimit import RateLimiter
from conso.sms.keywords import CONSULT_NUMBER, Keyword, keyword_of

log = logging.getLogger("conso.sms")


class Outcome(StrEnum):
    CONSULT = "consult"
    CONTINUE = "continue"
    HELP = "help"
    IGNORED = "ignored"
    RATE_LIMITED = "rate_limited"


class InboundSms:
    def __init__(self, core: ChargingCore, *, clock: Callable[[], datetime],
                 per_hour: int = 10) -> None:
        self.core = core
        self.clock = clock
        self.limiter = RateLimiter(per_hour, timedelta(hours=1))

    def handle_delivered(self, sender: str, to: str, text: str) -> None:
        """The SMPP link's callback for a deliver_sm; never raises into the link."""
        try:
            self.handle(sender, to, text)
        except Exception:
            log.exception("inbound SMS from %s could not be handled", sender)

    def handle(self, sender: str, to: str, text: str) -> Outcome:
        """Answer a text; returns what was done (for the log and the API)."""
        if to.strip() != CONSULT_NUMBER or not E164.match(sender):
            log.info("inbound SMS to %r from %r ignored", to, sender)
            return Outcome.IGNORED
        found = self.core.consult(sender)
        if found is None:
            log.info("inbound SMS from unknown number %s ignored", sender)
            return Outcome.IGNORED
        now = self.clock()
        if not self.limiter.allow(sender, now):
            log.warning("inbound SMS from %s over the hourly limit; not answered", sender)
            return Outcome.RATE_LIMITED
        language = found.language
        keyword = keyword_of(text)
        if keyword is Keyword.CONSULT:
            reply, outcome = templates.consult_reply(found.summary, language), Outcome.CONSULT
        elif keyword is Keyword.CONTINUE:
            capped = self.core.continue_roaming(found.summary.line)
            reply = templates.roaming_continue_reply(found.summary, language, capped=capped)
            outcome = Outcome.CONTINUE
        else:
            reply, outcome = templates.help_text(language), Outcome.HELP
        self.core.send([sms_reply(found.summary.line, sender, reply, now)])
        log.info("inbound SMS from %s: %s", sender, outcome.value)
        return outcome
