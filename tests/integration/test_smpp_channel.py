"""The SMPP channel and client against a real SMPP peer built on smpplib (tests/support/smsc.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import ChannelDown, Undeliverable
from conso.sms.channel import SmppChannel, smpp_from_url
from conso.sms.smpp import pdu as p
from conso.sms.smpp.errors import CommandFailed, ConnectionLost, NotBound
from conso.sms.smpp.session import SmppClient
from support.smsc import SmscPeer, wait_until

SUBSCRIBER = "+32470000001"
FRENCH = "Vous avez consommé 90 % de votre forfait. Crédit épuisé à 23h59."
LONG = ("Votre forfait data est épuisé : la navigation est suspendue jusqu'au "
        "renouvellement du 1er. Envoyez CONSULT au 1921 pour connaître votre consommation.")

Delivered = tuple[str, str, str]
ClientFactory = Callable[..., SmppClient]


def sms(text: str, *, sender: str = "8644", to: str = SUBSCRIBER) -> OutboxMessage:
    return OutboxMessage(id="m-1", channel="sms", sender=sender, to=to, subject=None, text=text,
                         line_id=None, rule=None, created_at=datetime(2024, 5, 1, tzinfo=UTC))


@pytest.fixture
def smsc() -> Iterator[SmscPeer]:
    peer = SmscPeer(system_id="conso", password="secret").start()
    yield peer
    peer.stop()


@pytest.fixture
def delivered() -> list[Delivered]:
    return []


@pytest.fixture
def make_client(smsc: SmscPeer, delivered: list[Delivered]) -> Iterator[ClientFactory]:
    """Clients that reconnect fast (tens of milliseconds) and time out in 2 s."""
    clients: list[SmppClient] = []

    def make(password: str = "secret", **options: object) -> SmppClient:
        settings: dict[str, object] = {
            "on_deliver": lambda *texts: delivered.append(texts), "timeout": 2.0,
            "reconnect_delay": 0.02, "max_reconnect_delay": 0.2, **options}
        client = SmppClient("127.0.0.1", smsc.port, "conso", password, **settings)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> SmppClient:
    bound = make_client()
    assert bound.wait_bound(5), bound.last_error
    return bound


@pytest.fixture
def channel(client: SmppClient) -> SmppChannel:
    return SmppChannel(client)


# ---------------------------------------------------------------- bind

def test_binds_as_transceiver_with_the_right_password(smsc: SmscPeer,
                                                      client: SmppClient) -> None:
    assert client.bound
    [bind] = smsc.binds
    assert (bind.system_id, bind.password, bind.interface_version, bind.status) == (
        "conso", "secret", 0x34, 0)
    assert smsc.bound_count() == 1


def test_a_wrong_password_is_refused_and_the_channel_is_down(
        smsc: SmscPeer, make_client: ClientFactory) -> None:
    client = make_client(password="wrong")
    wait_until(lambda: len(smsc.binds) >= 2, message="bind retried")
    assert not client.bound
    assert {bind.status for bind in smsc.binds} == {p.ESME_RINVPASWD}
    assert "ESME_RINVPASWD" in (client.last_error or "")
    with pytest.raises(ChannelDown, match="no SMPP link is bound"):
        SmppChannel(client).send(sms("hello"))
    assert smsc.submits == []


# ---------------------------------------------------------------- submit_sm

def test_a_short_ascii_text_arrives_intact(smsc: SmscPeer, channel: SmppChannel) -> None:
    channel.send(sms("Vous avez utilise 90% de votre forfait data."))
    [sent] = smsc.submits
    assert sent.text == "Vous avez utilise 90% de votre forfait data."
    assert (sent.data_coding, sent.in_payload) == (0, False)


def test_a_french_text_with_accents_travels_in_the_gsm_alphabet(
        smsc: SmscPeer, channel: SmppChannel) -> None:
    channel.send(sms(FRENCH + " 5 €"))
    [sent] = smsc.submits
    assert (sent.text, sent.data_coding, sent.in_payload) == (FRENCH + " 5 €", 0, False)
    assert sent.registered_delivery == 1            # a final receipt, asked of every part


def test_a_long_text_goes_in_parts_with_a_user_data_header(
        smsc: SmscPeer, channel: SmppChannel) -> None:
    channel.send(sms(LONG))
    channel.send(sms("CONSULT: " + "x" * 200, sender="1921"))
    parts = smsc.submits
    # LONG has an î, not in the GSM alphabet: 152 characters of UCS-2 are 3 parts of
    # at most 67; the other text is GSM, 209 septets in 2 parts of at most 153.
    assert len(parts) == 5
    assert "".join(part.text for part in parts[:3]) == LONG
    assert "".join(part.text for part in parts[3:]) == "CONSULT: " + "x" * 200
    for (coding, count, number), part in zip(
            [(8, 3, 1), (8, 3, 2), (8, 3, 3), (0, 2, 1), (0, 2, 2)], parts, strict=True):
        assert (part.data_coding, part.in_payload, part.esm_class) == (coding, False, 0x40)
        assert part.udh[:5] == bytes([5, 0, 3, part.udh[3], count]) and part.udh[5] == number
    assert len(parts[0].text) == 67 and len(parts[3].text) == 153
    assert parts[0].udh[3] == parts[2].udh[3] != parts[3].udh[3]   # one reference a text


def test_short_code_to_number_shows_network_specific_and_international_ton(
        smsc: SmscPeer, client: SmppClient) -> None:
    message_id = client.submit("8644", SUBSCRIBER, "hello")
    [sent] = smsc.submits
    assert (sent.source, sent.source_ton, sent.source_npi) == ("8644", 3, 0)
    assert (sent.destination, sent.dest_ton, sent.dest_npi) == ("32470000001", 1, 1)
    assert message_id == sent.message_id
    assert message_id


# ---------------------------------------------------------------- deliver_sm

def test_a_text_to_1921_reaches_on_deliver_and_is_acknowledged(
        smsc: SmscPeer, client: SmppClient, delivered: list[Delivered]) -> None:
    sequence = smsc.deliver(SUBSCRIBER, "1921", " consult ")
    wait_until(lambda: len(smsc.deliver_resps) == 1, message="deliver_sm_resp")
    assert delivered == [(SUBSCRIBER, "1921", " consult ")]
    [resp] = smsc.deliver_resps
    assert (resp.sequence, resp.status) == (sequence, 0)


def test_a_ucs2_text_in_message_payload_is_delivered_intact(
        smsc: SmscPeer, client: SmppClient, delivered: list[Delivered]) -> None:
    smsc.deliver(SUBSCRIBER, "1921", LONG)
    wait_until(lambda: len(smsc.deliver_resps) == 1, message="deliver_sm_resp")
    assert delivered == [(SUBSCRIBER, "1921", LONG)]


def test_deliver_sm_is_answered_at_once_before_the_reply_is_composed(
        smsc: SmscPeer, make_client: ClientFactory) -> None:
    release, entered = threading.Event(), threading.Event()

    def slow_handler(source: str, destination: str, text: str) -> None:
        entered.set()
        release.wait(5)

    client = make_client(on_deliver=slow_handler)
    assert client.wait_bound(5)
    smsc.deliver(SUBSCRIBER, "1921", "consult")
    assert entered.wait(5)
    wait_until(lambda: len(smsc.deliver_resps) == 1, message="deliver_sm_resp")
    assert smsc.deliver_resps[0].status == p.ESME_ROK
    client.submit("1921", SUBSCRIBER, "the link keeps working meanwhile")
    release.set()


# ---------------------------------------------------------------- the link

def test_the_channel_is_down_while_the_smsc_is_away_and_back_after_it_restarts(
        smsc: SmscPeer, client: SmppClient, channel: SmppChannel) -> None:
    channel.send(sms("before"))
    smsc.stop()
    wait_until(lambda: not client.bound, message="client noticed the drop")
    with pytest.raises(ChannelDown):
        channel.send(sms("while down"))
    smsc.start()
    wait_until(lambda: client.bound, timeout=10, message="client reconnected")
    channel.send(sms("after"))
    assert [sent.text for sent in smsc.submits] == ["before", "after"]
    assert len(smsc.binds) == 2


def test_enquire_link_is_sent_when_the_link_is_quiet(smsc: SmscPeer,
                                                     make_client: ClientFactory) -> None:
    client = make_client(enquire_interval=0.1)
    assert client.wait_bound(5)
    wait_until(lambda: smsc.enquire_links >= 3, message="enquire_link")
    assert client.bound
    assert len(smsc.binds) == 1


def test_close_unbinds_and_later_submits_fail(smsc: SmscPeer, client: SmppClient) -> None:
    client.close()
    wait_until(lambda: smsc.unbinds == 1, message="unbind")
    with pytest.raises(NotBound, match="closed"):
        client.submit("8644", SUBSCRIBER, "too late")


# ---------------------------------------------------------------- failures

@pytest.mark.parametrize("status", [p.ESME_RTHROTTLED, p.ESME_RMSGQFUL, p.ESME_RSYSERR])
def test_a_busy_smsc_means_channel_down(smsc: SmscPeer, channel: SmppChannel,
                                        status: int) -> None:
    smsc.fail_next(status)
    with pytest.raises(ChannelDown, match=f"0x{status:02X}"):
        channel.send(sms("hello"))
    channel.send(sms("hello again"))
    assert [sent.status for sent in smsc.submits] == [status, 0]


def test_an_invalid_destination_is_undeliverable(smsc: SmscPeer,
                                                 channel: SmppChannel) -> None:
    smsc.fail_next(p.ESME_RINVDSTADR)
    with pytest.raises(Undeliverable, match="ESME_RINVDSTADR"):
        channel.send(sms("hello"))


def test_a_number_smpp_cannot_address_is_undeliverable(smsc: SmscPeer,
                                                       channel: SmppChannel) -> None:
    with pytest.raises(Undeliverable):
        channel.send(sms("hello", to="+32 470 00 00 01 ext. 5"))
    assert smsc.submits == []


def test_no_answer_in_time_breaks_the_link_which_binds_again(
        smsc: SmscPeer, make_client: ClientFactory) -> None:
    client = make_client(timeout=0.3)
    assert client.wait_bound(5)
    smsc.silence_next()
    with pytest.raises(ConnectionLost, match="no submit_sm_resp"):
        client.submit("8644", SUBSCRIBER, "anyone there?")
    assert client.wait_bound(5)
    smsc.silence_next()
    with pytest.raises(ChannelDown, match="no submit_sm_resp"):
        SmppChannel(client).send(sms("anyone there?"))
    assert client.wait_bound(5)
    assert client.submit("8644", SUBSCRIBER, "hello")
    assert len(smsc.binds) == 3                 # each broken link was closed and bound again


def test_submit_reports_the_status(smsc: SmscPeer, client: SmppClient) -> None:
    smsc.fail_next(p.ESME_RINVDSTADR)
    with pytest.raises(CommandFailed) as error:
        client.submit("8644", SUBSCRIBER, "hello")
    assert error.value.command_status == p.ESME_RINVDSTADR


# ---------------------------------------------------------------- the URL

def test_smpp_url_gives_a_client_that_binds(smsc: SmscPeer,
                                            delivered: list[Delivered]) -> None:
    client = smpp_from_url(f"smpp://conso:secret@127.0.0.1:{smsc.port}?system_type=CONSO",
                           lambda *texts: delivered.append(texts))
    try:
        assert client.wait_bound(5), client.last_error
        assert (smsc.binds[-1].system_type, client.port) == ("CONSO", smsc.port)
    finally:
        client.close()


def test_smpp_url_default_port_and_escapes() -> None:
    client = smpp_from_url("smpp://my%40id:p%3Ass@127.0.0.1", None, timeout=0.1)
    try:
        assert (client.host, client.port, client.system_id) == ("127.0.0.1", 2775, "my@id")
    finally:
        client.close()


@pytest.mark.parametrize(("url", "complaint"), [
    ("http://conso:secret@host:2775", "scheme"),
    ("smpp://host:2775", "system_id"),
    ("smpp://conso:secret@:2775", "host"),
    ("smpp://conso:secret@host:port", "port"),
    ("smpp://conso:secret@host:99999", "port"),
    ("smpp://conso:secret@host?tls=1", "unknown parameter"),
    ("smpp://conso:averylongpassword@host", "password"),
])
def test_a_bad_smpp_url_is_a_clear_error(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as error:
        smpp_from_url(url, None)
    assert "averylongpassword" not in str(error.value)
