"""The per-node cache of shared API nodes (engine.py, store/changes.py): two `conso
serve` processes on one PostgreSQL database, each answering authorize from its memory.
A change committed through one node (a barring, a spending limit, a plan, usage) is
what the other answers by at once: the next request, sent the moment the first node
answered, with no sleep and no retry. Each case goes back and forth many times, both
ways, and checks through /metrics that the nodes did answer from their caches."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from .control_support import Network, new_account, ok, set_limit, shared_servers
from .helpers import Api, Server, record

ROUNDS = 15
NO_BARS = {"data": False, "voice_out": False, "voice_in": False, "voice_out_roaming": False,
           "voice_in_roaming": False, "sms_out": False, "premium": False}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    with shared_servers(tmp_path_factory.mktemp("nodes")) as servers:
        yield servers


def _gauge(server: Server, name: str) -> float:
    with server.client() as anon:
        text = anon.get("/metrics").text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in /metrics"
    return float(found.group(1))


def test_a_barring_set_on_one_node_is_enforced_by_the_other_at_once(
        nodes: list[Server]) -> None:
    first, second = nodes
    with first.operator() as op_a, second.operator() as op_b:
        line = new_account(Api(op_a), "king").line
        net = [Network(op_a), Network(op_b)]
        for node in net:   # both nodes hold the line in their caches
            assert node.authorize(line, "data") == {"allowed": True, "reason": None}
        for n in range(ROUNDS):
            changer, asker = (op_a, net[1]) if n % 2 == 0 else (op_b, net[0])
            ok(changer.put(f"/api/v1/lines/{line}/barring", json={**NO_BARS, "data": True}))
            assert asker.authorize(line, "data") == {"allowed": False,
                                                     "reason": "barred:data"}, n
            ok(changer.put(f"/api/v1/lines/{line}/barring", json=NO_BARS))
            assert asker.authorize(line, "data") == {"allowed": True, "reason": None}, n
    for server in nodes:   # each heard the other's changes (two a round) and fenced
        assert _gauge(server, "conso_cached_lines") >= 1
        assert _gauge(server, "conso_node_changes_heard") >= 2 * (ROUNDS // 2)
        assert _gauge(server, "conso_node_fences") >= ROUNDS // 2


def test_a_spending_limit_changed_on_one_node_binds_the_other_at_once(
        nodes: list[Server]) -> None:
    first, second = nodes
    with first.operator() as op_a, second.operator() as op_b:
        line = new_account(Api(op_a), "payg").line
        net = [Network(op_a), Network(op_b)]
        for n in range(ROUNDS):
            changer, asker = (op_a, net[1]) if n % 2 == 0 else (op_b, net[0])
            set_limit(changer, line, 5)
            assert asker.authorize(line, "premium", amount_cents=600) == {
                "allowed": False, "reason": "spending_limit"}, n
            set_limit(changer, line, 10)
            assert asker.authorize(line, "premium", amount_cents=600) == {
                "allowed": True, "reason": None}, n


def test_a_plan_changed_on_one_node_is_the_plan_of_the_other_at_once(
        nodes: list[Server]) -> None:
    first, second = nodes
    with first.operator() as op_a, second.operator() as op_b:
        api = [Api(op_a), Api(op_b)]
        account = new_account(api[0], "payg")
        net = [Network(op_a), Network(op_b)]
        for n in range(4):
            changer, asker = (0, 1) if n % 2 == 0 else (1, 0)
            set_limit(api[changer].client, account.line, 5)
            assert net[asker].authorize(account.line, "premium", amount_cents=600) == {
                "allowed": False, "reason": "spending_limit"}, n
            # To a bundle plan: the limit goes with the pay-per-use plan (rules.md).
            ok(api[changer].client.put(f"/api/v1/lines/{account.line}", json={
                "account_id": account.id, "plan": "king", "user": account.user}))
            assert net[asker].authorize(account.line, "premium", amount_cents=600) == {
                "allowed": True, "reason": None}, n
            ok(api[changer].client.put(f"/api/v1/lines/{account.line}", json={
                "account_id": account.id, "plan": "payg", "user": account.user}))


def test_usage_fed_to_one_node_counts_on_the_other_at_once(nodes: list[Server]) -> None:
    first, second = nodes
    with first.operator() as op_a, second.operator() as op_b:
        line = new_account(Api(op_a), "payg").line
        set_limit(op_a, line, 50)
        asker = Network(op_b)
        assert asker.authorize(line, "premium", amount_cents=1000) == {
            "allowed": True, "reason": None}
        for n in range(4):   # EUR 10 of paid content each: EUR 40 spent of 50
            result = Api(op_a).feed([record(line, "premium", 1, amount_cents=1000)])
            assert result["accepted"] == 1, result
            expected = {"allowed": n < 3, "reason": None if n < 3 else "spending_limit"}
            assert asker.authorize(line, "premium", amount_cents=1001) == expected, n
