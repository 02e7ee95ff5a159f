"""Each channel has its own dispatcher worker: a mail server that hangs holds up no SMS."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.log import LogChannel
from conso.notify.channels.smtp import SmtpChannel
from conso.notify.dispatcher import Dispatcher
from conso.store import open_store


def _message(message_id: str, channel: str, to: str) -> OutboxMessage:
    return OutboxMessage(message_id, channel, "8644", to, "s", "text", "+32470000001", None,
                         datetime.now(UTC))


def test_a_hanging_mail_server_does_not_hold_up_sms(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/c.db")
    store.migrate()
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen()                      # accepts connections, never says a word
    port = hanging.getsockname()[1]
    with store.transaction() as tx:
        tx.outbox.insert([_message("mail", "email", "a@example.com")])
        tx.outbox.insert([_message("sms", "sms", "+32470000001")])
    dispatcher = Dispatcher(store, {
        "email": SmtpChannel("127.0.0.1", port, sender="c@example.com", timeout=30),
        "sms": LogChannel("sms"),
    })
    dispatcher.start()
    try:
        deadline = time.monotonic() + 20
        while (sms := store.outbox.get("sms")) is not None and sms.status != "sent":
            assert time.monotonic() < deadline, "the SMS was never sent"
            time.sleep(0.02)
        mail = store.outbox.get("mail")
        assert mail is not None and mail.status == "sending"   # still waiting on the server
    finally:
        hanging.close()
        dispatcher.stop()
        store.close()
