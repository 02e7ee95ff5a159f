"""Bad input on the Diameter front end (diameter.md, RFC 6733 §7): over real TCP against an
in-process server, every defect gets the answer RFC 6733 prescribes (or the connection
closed), a log line that says why, and counts nothing; one bad peer never disturbs the
others; a retransmission (T flag) gets the first answer and counts once.

Well-formed requests come from python-diameter and conso's answers are decoded by it;
the bad ones are made from those bytes with conso's codec helpers.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conso.bootstrap import Services, Settings, build
from conso.diameter import codec
from conso.domain.units import Service

from .diameter_raw import (
    CREDIT_CONTROL,
    FLAG_E,
    FLAG_P,
    FLAG_R,
    FLAG_T,
    INITIAL,
    TERMINATION,
    UPDATE,
    Peer,
    ccr,
    cer,
    decode,
    dpr,
    dwr,
    failed_avps,
    flags_of,
    header,
    next_id,
    rebuild,
    retransmitted,
    str_request,
    top_avps,
    with_hop_by_hop,
)
from .helpers import new_number

MAX_MESSAGE = 4096          # CONSO_DIAMETER_MAX_MESSAGE of the server under test
GRANT = 10_000_000          # what a session asks for
UNKNOWN_AVP = 99_999


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    workdir: Path = tmp_path_factory.mktemp("diameter-bad-input")
    with pytest.MonkeyPatch.context() as env:
        for name in ("CONSO_DIAMETER_PEERS", "CONSO_DIAMETER_HOST", "CONSO_DIAMETER_REALM"):
            env.delenv(name, raising=False)
        env.setenv("CONSO_DIAMETER_MAX_MESSAGE", str(MAX_MESSAGE))
        built = build(Settings(db=f"sqlite:///{workdir}/conso.db", operator_key="k",
                               diameter="127.0.0.1:0"))
    built.start()
    built.engine.put_account("diam", name="Diameter tests", kind="business")
    yield built
    built.close()


@pytest.fixture
def port(services: Services) -> int:
    value: int = services.diameter.port
    return value


@pytest.fixture
def line(services: Services) -> str:
    """A fresh pay-as-you-go line (data costs money: a count shows)."""
    number = new_number()
    services.engine.put_line(number, account_id="diam", plan_id="payg", user_login=None,
                             cycle_day=None)
    return number


@pytest.fixture(autouse=True)
def diameter_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="conso.diameter")
    return caplog


def host_name() -> str:
    return f"pgw-{next_id()}.test.example"


def used_bytes(services: Services, line: str) -> int:
    engine = services.engine
    found = engine.line(line)
    assert found is not None
    summary = engine.usage_summary(found)
    assert summary.services[Service.DATA].used == 0 or summary.extra_micros > 0
    value: int = summary.services[Service.DATA].used
    return value


def open_session(peer: Peer, line: str) -> str:
    session = f"{peer.host};{next_id()};conso-test"
    answer = decode(peer.ask(ccr(peer.host, session, INITIAL, 0, subscriber=line[1:],
                                 requested=GRANT)))
    assert answer.result_code == 2001
    assert answer.multiple_services_credit_control[0].granted_service_unit \
        .cc_total_octets == GRANT
    return session


def update(peer: Peer, session: str, number: int, used: int) -> bytes:
    return ccr(peer.host, session, UPDATE, number, used=used, requested=GRANT)


def assert_counts(services: Services, peer: Peer, line: str, session: str, number: int,
                  *, expected_before: int = 0) -> None:
    """Nothing was counted by the refused request: the line's usage is unchanged, and
    the same request number, sent well formed, is still new to conso and counts once."""
    assert used_bytes(services, line) == expected_before
    answer = decode(peer.ask(update(peer, session, number, 1_234)))
    assert answer.result_code == 2001, answer
    assert used_bytes(services, line) == expected_before + 1_234


def logged(caplog: pytest.LogCaptureFixture, *fragments: str) -> logging.LogRecord:
    """The WARNING of conso.diameter whose message holds every fragment."""
    for record in caplog.records:
        text = record.getMessage()
        if record.name == "conso.diameter" and record.levelno >= logging.WARNING \
                and all(f in text for f in fragments):
            return record
    seen = [r.getMessage() for r in caplog.records if r.name == "conso.diameter"]
    raise AssertionError(f"no conso.diameter warning with {fragments}; logged: {seen}")


def assert_answers(answer: bytes, request: bytes, *, result: int, error_bit: bool) -> None:
    """An answer to `request` on the wire: same command, application and identifiers, the
    R bit clear, the E bit as RFC 6733 §7.1 says for this Result-Code."""
    _, length, flags, command, application, hbh, e2e = header(answer)
    _, _, request_flags, request_command, request_application, request_hbh, request_e2e = \
        header(request)
    assert length == len(answer)
    assert (command, hbh, e2e) == (request_command, request_hbh, request_e2e)
    assert application == request_application
    assert not flags & FLAG_R
    assert bool(flags & FLAG_E) is error_bit
    assert not flags & FLAG_T
    assert flags & FLAG_P == request_flags & FLAG_P
    decoded = decode(answer)
    assert decoded.result_code == result
    assert decoded.origin_host == b"conso.localdomain"
    assert decoded.origin_realm == b"localdomain"


# -- malformed messages -----------------------------------------------------------------------

def test_an_avp_whose_length_runs_past_the_message_gets_5014_with_failed_avp(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    good = update(peer, session, 1, 50_000)
    avps = top_avps(good)
    mscc = next(a for a in avps if a.code == 456)
    offset = good.index(mscc.raw)
    bad = bytearray(good)
    bad[offset + 5:offset + 8] = (0xFFFF).to_bytes(3, "big")      # longer than the message

    answer = peer.ask(bytes(bad))
    assert_answers(answer, good, result=5014, error_bit=False)
    decoded = decode(answer)
    assert decoded.session_id == session
    [failed] = failed_avps(decoded)
    assert (failed.code, failed.vendor_id, failed.is_mandatory) == (456, 0, True)
    assert failed.payload == b""      # a grouped AVP's header with an empty payload (§7.5)
    logged(diameter_logs, peer.host, "AVP 456 length 65535")
    assert_counts(services, peer, line, session, 1)


def test_an_avp_shorter_than_its_header_gets_5014_naming_it(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    good = update(peer, session, 1, 50_000)
    number = next(a for a in top_avps(good) if a.code == 415)     # CC-Request-Number
    offset = good.index(number.raw)
    bad = bytearray(good)
    bad[offset + 5:offset + 8] = (4).to_bytes(3, "big")

    answer = peer.ask(bytes(bad))
    assert_answers(answer, good, result=5014, error_bit=False)
    [failed] = failed_avps(decode(answer))
    assert failed.code == 415
    assert failed.payload == bytes(4)     # an Unsigned32's zeroed payload
    logged(diameter_logs, peer.host, "AVP 415 length 4")
    assert_counts(services, peer, line, session, 1)


def test_a_wrong_length_inside_a_grouped_avp_gets_5014(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    good = update(peer, session, 1, 50_000)
    total = codec.u64(421, 50_000)            # CC-Total-Octets inside the Used-Service-Unit
    offset = good.index(total)
    bad = bytearray(good)
    bad[offset + 5:offset + 8] = (200).to_bytes(3, "big")        # past its group's end

    answer = peer.ask(bytes(bad))
    assert_answers(answer, good, result=5014, error_bit=False)
    [failed] = failed_avps(decode(answer))
    assert failed.code == 421
    assert failed.payload == bytes(8)
    logged(diameter_logs, peer.host, "AVP 421 length 200")
    assert_counts(services, peer, line, session, 1)


def test_an_unknown_avp_with_the_m_bit_gets_5001_with_it_as_failed_avp(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    good = update(peer, session, 1, 50_000)
    unknown = codec.avp(UNKNOWN_AVP, b"surprise", mandatory=True)
    bad = rebuild(good, [a.raw for a in top_avps(good)] + [unknown])

    answer = peer.ask(bad)
    assert_answers(answer, good, result=5001, error_bit=False)
    decoded = decode(answer)
    [failed] = failed_avps(decoded)
    assert (failed.code, failed.is_mandatory, failed.payload) == (UNKNOWN_AVP, True, b"surprise")
    assert decoded.cc_request_number == 1 and decoded.cc_request_type == UPDATE
    logged(diameter_logs, peer.host, f"unknown mandatory AVP {UNKNOWN_AVP}")
    assert used_bytes(services, line) == 0

    # Inside the MSCC, and with a vendor: the same.
    nested = codec.avp(UNKNOWN_AVP, b"deeper", vendor=10415, mandatory=True)
    avps = []
    for one in top_avps(good):
        if one.code == 456:
            members = [m.raw for m in one.group()] + [nested]
            avps.append(codec.grouped(456, members))
        else:
            avps.append(one.raw)
    answer = peer.ask(rebuild(good, avps))
    assert_answers(answer, good, result=5001, error_bit=False)
    [failed] = failed_avps(decode(answer))
    assert (failed.code, failed.vendor_id, failed.payload) == (UNKNOWN_AVP, 10415, b"deeper")
    assert used_bytes(services, line) == 0

    # Without the M bit it is read past, and the request counts.
    tolerated = rebuild(good, [a.raw for a in top_avps(good)]
                        + [codec.avp(UNKNOWN_AVP, b"fyi", mandatory=False)])
    answer = peer.ask(tolerated)
    assert decode(answer).result_code == 2001
    assert used_bytes(services, line) == 50_000


def test_a_missing_mandatory_avp_gets_5005_naming_it(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    good = update(peer, session, 1, 50_000)
    bad = rebuild(good, [a.raw for a in top_avps(good) if a.code != 415])

    answer = peer.ask(bad)
    assert_answers(answer, good, result=5005, error_bit=False)
    decoded = decode(answer)
    assert decoded.session_id == session
    [failed] = failed_avps(decoded)
    assert (failed.code, failed.payload) == (415, bytes(4))
    logged(diameter_logs, peer.host, "missing AVP 415")

    # No Session-Id at all: still 5005, naming Session-Id.
    answer = peer.ask(rebuild(good, [a.raw for a in top_avps(good) if a.code != 263]))
    assert_answers(answer, good, result=5005, error_bit=False)
    [failed] = failed_avps(decode(answer))
    assert failed.code == 263
    assert_counts(services, peer, line, session, 1)


# -- protocol errors (E bit) --------------------------------------------------------------

def test_a_wrong_application_gets_3007_with_the_e_bit(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    good = update(peer, session, 1, 50_000)
    bad = rebuild(good, [a.raw for a in top_avps(good)], application=16777238)   # Gx

    answer = peer.ask(bad)
    assert_answers(answer, bad, result=3007, error_bit=True)
    logged(diameter_logs, peer.host, "application 16777238")
    assert_counts(services, peer, line, session, 1)


def test_an_unsupported_command_gets_3001_with_the_e_bit(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    request = str_request(peer.host, session)          # STR, command 275 of application 4
    answer = peer.ask(request)
    assert_answers(answer, request, result=3001, error_bit=True)
    logged(diameter_logs, peer.host, "command 275")

    good = update(peer, session, 1, 50_000)
    made_up = rebuild(good, [a.raw for a in top_avps(good)], command=9_999)
    answer = peer.ask(made_up)
    assert_answers(answer, made_up, result=3001, error_bit=True)
    assert_counts(services, peer, line, session, 1)


def test_bad_header_bits_get_3008_and_reserved_bits_are_ignored(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    good = update(peer, session, 1, 50_000)
    bad = bytearray(good)
    bad[4] |= FLAG_E                                   # a request that is an error answer

    answer = peer.ask(bytes(bad))
    assert_answers(answer, good, result=3008, error_bit=True)
    assert decode(answer).session_id == session
    logged(diameter_logs, peer.host, "header flags 0xe0")
    assert used_bytes(services, line) == 0

    # RFC 6733 §3: the reserved bits are ignored by the receiver.
    reserved = bytearray(update(peer, session, 1, 50_000))
    reserved[4] |= 0x0F
    answer = peer.ask(bytes(reserved))
    assert decode(answer).result_code == 2001
    assert used_bytes(services, line) == 50_000


# -- framing: the connection cannot be read past ------------------------------------------

def test_a_message_over_the_maximum_is_answered_5012_and_the_link_closed(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    keeper = Peer.opened(port, host_name())
    session = open_session(keeper, line)
    peer = Peer.opened(port, host_name())
    good = update(peer, session, 1, 50_000)
    big = rebuild(good, [a.raw for a in top_avps(good)]
                  + [codec.avp(UNKNOWN_AVP, bytes(2 * MAX_MESSAGE), mandatory=False)])
    assert len(big) > MAX_MESSAGE
    # the header arrives alone first: conso waits for it whole, then answers
    peer.send(big[:4])
    time.sleep(0.05)
    peer.send(big[4:codec.HEADER])
    sent = peer.closed_by_conso()
    assert len(sent) == 1
    assert_answers(sent[0], good, result=5012, error_bit=False)
    logged(diameter_logs, peer.host, f"over the maximum {MAX_MESSAGE}")

    # The whole of it at once: answered or simply closed, never read as a request.
    other = Peer.opened(port, host_name())
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        other.send(with_hop_by_hop(big, next_id()))
    for message in other.closed_by_conso():
        assert decode(message).result_code == 5012
    assert_counts(services, keeper, line, session, 1)


def test_a_ccr_before_the_cer_gets_3010_and_the_link_closed(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    keeper = Peer.opened(port, host_name())
    session = open_session(keeper, line)
    peer = Peer.connect(port, keeper.host)        # the same host, not yet introduced
    request = update(peer, session, 1, 50_000)
    peer.send(request)
    sent = peer.closed_by_conso()
    assert len(sent) == 1
    assert_answers(sent[0], request, result=3010, error_bit=True)
    logged(diameter_logs, "command 272 before the capabilities exchange")
    assert_counts(services, keeper, line, session, 1)


@pytest.mark.parametrize("garbage", [
    b"GET / HTTP/1.1\r\nHost: conso\r\n\r\n",
    bytes(range(256)) * 4,
    b"\x01\x00\x00\x07" + bytes(60),              # version 1, a length that is no length
    b"\x01\x00\x00\x10" + bytes(60),              # version 1, shorter than a header
])
def test_garbage_closes_the_connection(services: Services, port: int, line: str,
                                       garbage: bytes,
                                       diameter_logs: pytest.LogCaptureFixture) -> None:
    keeper = Peer.opened(port, host_name())
    session = open_session(keeper, line)
    for introduced in (False, True):
        peer = Peer.opened(port, host_name()) if introduced else Peer.connect(port, "?")
        peer.send(garbage)
        for message in peer.closed_by_conso():   # a version-1 header may be answered
            assert decode(message).result_code in (5011, 5015)
        logged(diameter_logs, "closing the connection")
    assert_counts(services, keeper, line, session, 1)


def test_a_cer_without_credit_control_gets_5010_and_the_link_closed(
        services: Services, port: int, diameter_logs: pytest.LogCaptureFixture) -> None:
    host = host_name()
    peer = Peer.connect(port, host)
    request = cer(host, auth_apps=(16777238,))          # Gx only
    peer.send(request)
    sent = peer.closed_by_conso()
    assert len(sent) == 1
    assert_answers(sent[0], request, result=5010, error_bit=False)
    answer = decode(sent[0])
    assert 4 in answer.auth_application_id                # what conso offers instead
    logged(diameter_logs, host, "no application in common")

    # Credit-Control named inside Vendor-Specific-Application-Id, or relay: accepted.
    vendor_specific = Peer.connect(port, host_name())
    request = cer(vendor_specific.host, auth_apps=(), vendor_specific=(4,))
    assert decode(vendor_specific.ask(request)).result_code == 2001
    relay = Peer.connect(port, host_name())
    assert decode(relay.ask(cer(relay.host, auth_apps=(0xFFFFFFFF,)))).result_code == 2001


def test_dwr_gets_dwa_and_dpr_gets_dpa(services: Services, port: int, line: str,
                                       diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)
    for _ in range(3):
        request = dwr(peer.host)
        answer = peer.ask(request)
        assert_answers(answer, request, result=2001, error_bit=False)
        assert header(answer)[3] == 280
    assert decode(peer.ask(update(peer, session, 1, 10))).result_code == 2001

    request = dpr(peer.host)
    answer = peer.ask(request)
    assert_answers(answer, request, result=2001, error_bit=False)
    assert header(answer)[3] == 282
    assert peer.closed_by_conso(timeout=5) == []         # conso closes soon after
    assert any(peer.host in r.getMessage() and "DPR" in r.getMessage()
               for r in diameter_logs.records)
    assert peer.host not in services.diameter.server.peers
    assert used_bytes(services, line) == 10


# -- one bad peer never disturbs the others ----------------------------------------------------

def _connection_of(services: Services, host: str) -> Any:
    server = services.diameter.server
    found = [c for c in list(server.connections) if c.peer_host == host]
    assert len(found) == 1, found
    return found[0]


def _flood(services: Services, host: str, seconds: float, stop: threading.Event,
           pushed: list[int]) -> None:
    """CCR-UPDATEs of sessions conso does not hold, as fast as conso takes them, never
    reading an answer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Small kernel buffers for the answers, so that what conso itself holds shows, not
    # the megabytes a loopback socket absorbs.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", services.diameter.port))
    peer = Peer(sock, host)
    assert decode(peer.ask(cer(host))).result_code == 2001
    theirs = _connection_of(services, host).transport.get_extra_info("socket")
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    peer.sock.setblocking(False)
    chunk = b"".join(ccr(host, f"{host};flood;{n}", UPDATE, 1, used=1_000, requested=1)
                     for n in range(200))
    total = 0
    deadline = time.monotonic() + seconds
    pending = memoryview(chunk)
    while time.monotonic() < deadline and not stop.is_set():
        try:
            sent = peer.sock.send(pending)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        except OSError:
            break
        total += sent
        pending = pending[sent:] or memoryview(chunk)
    pushed.append(total)
    stop.wait(30)
    peer.close()


def _misbehave(port: int, stop: threading.Event, payload: bytes, introduced: bool) -> None:
    """Connect (with a CER or not), send `payload`, wait to be closed; again and again."""
    while not stop.is_set():
        host = host_name()
        peer = Peer.opened(port, host) if introduced else Peer.connect(port, host)
        with contextlib.suppress(OSError):
            peer.send(payload)
            peer.closed_by_conso(timeout=5)
        peer.close()


def test_a_bad_peer_never_disturbs_the_others(services: Services, port: int,
                                              line: str) -> None:
    good = Peer.opened(port, host_name())
    session = open_session(good, line)
    stop = threading.Event()
    pushed: list[int] = []
    flooder_host = host_name()
    threads = [threading.Thread(target=_flood, args=(services, flooder_host, 3.0, stop, pushed)),
               threading.Thread(target=_misbehave,
                                args=(port, stop, b"\x02garbage" * 64, False)),
               threading.Thread(target=_misbehave,
                                args=(port, stop, b"\x01\xff\xff\xf0" + bytes(60), True))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        slowest = 0.0
        for number in range(1, 41):
            began = time.monotonic()
            answer = decode(good.ask(update(good, session, number, 1_000)))
            slowest = max(slowest, time.monotonic() - began)
            assert answer.result_code == 2001
            assert answer.cc_request_number == number
            mscc = answer.multiple_services_credit_control[0]
            assert (mscc.result_code, mscc.granted_service_unit.cc_total_octets) == (2001, GRANT)
        assert slowest < 3.0
        while not pushed and threads[0].is_alive():
            time.sleep(0.05)
        # The flooder that never reads is held back (RFC 6733 leaves this to us): conso
        # stops reading it, so neither its unread answers nor its requests pile up here.
        flooder = _connection_of(services, flooder_host)
        assert flooder.paused
        assert flooder.transport.get_write_buffer_size() < 512_000
        assert flooder.in_flight <= services.diameter.config.max_in_flight
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    # The flood's requests named no session of this line: only the good peer's counted.
    assert used_bytes(services, line) == 40_000
    answer = decode(good.ask(ccr(good.host, session, TERMINATION, 41, used=0)))
    assert answer.result_code == 2001


# -- retransmissions ----------------------------------------------------------------------

def test_a_retransmission_with_the_t_flag_gets_the_same_answer_and_counts_once(
        services: Services, port: int, line: str,
        diameter_logs: pytest.LogCaptureFixture) -> None:
    peer = Peer.opened(port, host_name())
    session = open_session(peer, line)

    first_request = update(peer, session, 1, 7_000)
    first = peer.ask(first_request)
    assert decode(first).result_code == 2001
    again_hbh = next_id()
    again = peer.ask(retransmitted(first_request, again_hbh))
    assert again == with_hop_by_hop(first, again_hbh)          # byte for byte
    assert used_bytes(services, line) == 7_000
    assert any(peer.host in r.getMessage() and "duplicate cache" in r.getMessage()
               for r in diameter_logs.records)

    # Sent again while the first is still being answered: both answers are the same.
    second_request = update(peer, session, 2, 3_000)
    copy_hbh = next_id()
    peer.send(second_request + retransmitted(second_request, copy_hbh))
    answers = {header(a)[5]: a for a in (peer.receive(), peer.receive()) if a is not None}
    original = answers[header(second_request)[5]]
    assert answers[copy_hbh] == with_hop_by_hop(original, copy_hbh)
    assert decode(original).result_code == 2001
    assert used_bytes(services, line) == 10_000

    # From another connection of the same peer (failover): the same answer again.
    other = Peer.opened(port, peer.host)
    third_hbh = next_id()
    assert other.ask(retransmitted(second_request, third_hbh)) == \
        with_hop_by_hop(original, third_hbh)

    # The same (Session-Id, CC-Request-Number) with a new End-to-End id: conso's own
    # idempotency gives the first answer's content and counts nothing.
    fresh = update(peer, session, 2, 3_000)
    assert header(fresh)[6] != header(second_request)[6]
    replayed = peer.ask(fresh)
    assert replayed[20:] == original[20:]
    assert used_bytes(services, line) == 10_000
    assert decode(peer.ask(update(peer, session, 3, 5))).result_code == 2001
    assert used_bytes(services, line) == 10_005
    assert flags_of(first) & FLAG_P
    assert header(first)[4] == CREDIT_CONTROL
