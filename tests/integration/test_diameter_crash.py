"""Crash safety of the Diameter front end (diameter.md: "The same (Session-Id,
CC-Request-Number) sent again, with or without the T flag, gets the first answer and
counts nothing twice, also after a restart"; api.md: a SIGKILL loses nothing answered).

A real `conso serve --diameter` process, CCR-UPDATEs in flight on raw sockets, SIGKILL,
a restart on the same SQLite file, and the network's retransmissions (T flag): the
usage the HTTP API reports is exactly what the answered requests reported, each once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .diameter_raw import (
    INITIAL,
    TERMINATION,
    UPDATE,
    Peer,
    ccr,
    decode,
    header,
    next_id,
    retransmitted,
    with_hop_by_hop,
)
from .helpers import Api, Server, free_port, kill_server, start_server, stop_server

REQUESTED = 1_000_000
STOPPED_AFTER = 5            # the sessions that stop early send this many updates


@dataclass
class Sent:
    session: str
    number: int
    used: int
    raw: bytes
    answer: bytes | None = None


@dataclass
class Traffic:
    """What the network sent and what conso answered, by (session, request number)."""

    requests: dict[tuple[str, int], Sent] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self) -> list[Sent]:
        with self.lock:
            return [s for s in self.requests.values() if s.answer is not None]

    def unanswered(self) -> list[Sent]:
        with self.lock:
            return [s for s in self.requests.values() if s.answer is None]


def used_of(session_index: int, number: int) -> int:
    return 1_000 * (session_index + 1) + 17 * number


def _stream(peer: Peer, sessions: list[tuple[int, str]], limits: dict[str, int | None],
            traffic: Traffic) -> None:
    """One connection: one CCR-UPDATE in flight per session, the next sent as soon as
    the last is answered, until conso goes away."""
    outstanding: dict[int, tuple[int, str, int]] = {}

    def send(index: int, session: str, number: int) -> bool:
        used = used_of(index, number)
        raw = ccr(peer.host, session, UPDATE, number, used=used, requested=REQUESTED)
        with traffic.lock:
            traffic.requests[(session, number)] = Sent(session, number, used, raw)
        outstanding[header(raw)[5]] = (index, session, number)
        try:
            peer.send(raw)
        except OSError:
            return False
        return True

    for index, session in sessions:
        if not send(index, session, 1):
            return
    while outstanding:
        try:
            answer = peer.receive(timeout=20)
        except OSError:      # reset, or no answer at all: conso is gone
            return
        if answer is None:
            return
        index, session, number = outstanding.pop(header(answer)[5])
        with traffic.lock:
            traffic.requests[(session, number)].answer = answer
        limit = limits[session]
        if (limit is None or number < limit) and not send(index, session, number + 1):
            return


def _usage(server: Server, line: str) -> int:
    with server.operator() as client:
        used: int = Api(client).usage(line)["services"]["data"]["used"]
    return used


def _open_sessions(port: int, line: str, connections: int,
                   per_connection: int) -> list[tuple[Peer, list[tuple[int, str]]]]:
    opened = []
    index = 0
    for c in range(connections):
        peer = Peer.opened(port, f"pgw-{c}.crash.example")
        sessions = []
        for _ in range(per_connection):
            session = f"{peer.host};{next_id()};{index}"
            answer = decode(peer.ask(ccr(peer.host, session, INITIAL, 0, subscriber=line[1:],
                                         requested=REQUESTED)))
            assert answer.result_code == 2001
            sessions.append((index, session))
            index += 1
        opened.append((peer, sessions))
    return opened


def _serve(workdir: Path, db: Path, port: int) -> Server:
    return start_server(workdir, db, extra_args=("--diameter", f"127.0.0.1:{port}"))


def _run_until_killed(server: Server, opened: list[tuple[Peer, list[tuple[int, str]]]],
                      limits: dict[str, int | None], answers: int) -> Traffic:
    """Stream updates on every connection; SIGKILL the server once `answers` came back."""
    traffic = Traffic()
    threads = [threading.Thread(target=_stream, args=(peer, sessions, limits, traffic))
               for peer, sessions in opened]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(traffic.answered()) < answers and time.monotonic() < deadline:
        time.sleep(0.002)
    kill_server(server)                      # with updates in flight
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    for peer, _ in opened:
        peer.close()
    return traffic


@pytest.mark.slow
def test_sigkill_with_updates_in_flight_loses_no_answered_usage_and_counts_none_twice(
        tmp_path: Path) -> None:
    db = tmp_path / "conso.db"
    port = free_port()
    first = _serve(tmp_path, db, port)
    second: Server | None = None
    try:
        with first.operator() as client:
            api = Api(client)
            line = api.line(api.account(), "payg")
        opened = _open_sessions(port, line, connections=4, per_connection=8)
        # Half the sessions stop after a few updates: their last request is answered
        # and nothing follows it, so the network may well send it again.
        limits: dict[str, int | None] = {
            session: STOPPED_AFTER if index % 2 else None
            for _, sessions in opened for index, session in sessions}
        traffic = _run_until_killed(first, opened, limits, answers=600)
        answered_before = traffic.answered()
        in_flight = traffic.unanswered()
        assert len(answered_before) >= 600
        assert in_flight, "the kill found no update in flight"
        for sent in answered_before:
            assert sent.answer is not None
            reply = decode(sent.answer)
            assert (reply.result_code, reply.cc_request_number) == (2001, sent.number)

        second = _serve(tmp_path, db, port)
        # Nothing answered is lost; at most what was in flight was counted besides.
        after_restart = _usage(second, line)
        answered_sum = sum(s.used for s in answered_before)
        assert answered_sum <= after_restart <= answered_sum + sum(s.used for s in in_flight)

        # The network retransmits (T flag, same End-to-End id): the answered last request
        # of each session that had stopped, and every unanswered request.
        peer = Peer.opened(port, "pgw-0.crash.example")
        last = {s.session: s for s in sorted(answered_before, key=lambda s: s.number)}
        resent_answered = [s for session, s in last.items()
                           if limits[session] == STOPPED_AFTER == s.number]
        assert resent_answered
        for sent in resent_answered:
            hop_by_hop = next_id()
            assert sent.answer is not None
            again = peer.ask(retransmitted(sent.raw, hop_by_hop))
            assert again == with_hop_by_hop(sent.answer, hop_by_hop)   # the first answer
        for sent in in_flight:
            answer = peer.ask(retransmitted(sent.raw, next_id()))
            reply = decode(answer)
            assert (reply.result_code, reply.cc_request_number) == (2001, sent.number), reply
            sent.answer = answer

        expected = sum(s.used for s in traffic.requests.values())
        assert all(s.answer is not None for s in traffic.requests.values())
        assert _usage(second, line) == expected

        # The sessions survived the crash: each ends normally, and the count stays.
        for session in last:
            number = max(n for s, n in traffic.requests if s == session) + 1
            end = ccr(peer.host, session, TERMINATION, number, used=0)
            assert decode(peer.ask(end)).result_code == 2001
        assert _usage(second, line) == expected
    finally:
        stop_server(first)
        if second is not None:
            stop_server(second)


@pytest.mark.slow
def test_an_older_answered_request_sent_again_after_a_restart_counts_nothing(
        tmp_path: Path) -> None:
    db = tmp_path / "conso.db"
    port = free_port()
    first = _serve(tmp_path, db, port)
    second: Server | None = None
    try:
        with first.operator() as client:
            api = Api(client)
            line = api.line(api.account(), "payg")
        [(peer, [(_, session)])] = _open_sessions(port, line, connections=1,
                                                  per_connection=1)
        one = ccr(peer.host, session, UPDATE, 1, used=1_000, requested=REQUESTED)
        first_answer = peer.ask(one)
        assert decode(first_answer).result_code == 2001
        assert decode(peer.ask(ccr(peer.host, session, UPDATE, 2, used=2_000,
                                   requested=REQUESTED))).result_code == 2001
        kill_server(first)
        peer.close()

        second = _serve(tmp_path, db, port)
        assert _usage(second, line) == 3_000
        again = Peer.opened(port, peer.host)
        hop_by_hop = next_id()
        answer = again.ask(retransmitted(one, hop_by_hop))
        assert _usage(second, line) == 3_000
        assert answer == with_hop_by_hop(first_answer, hop_by_hop)
    finally:
        stop_server(first)
        if second is not None:
            stop_server(second)
