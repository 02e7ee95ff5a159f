"""A message's delivery state from its parts' receipts, and the delivery-rate gauge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conso.domain.outbox import RECEIPT_STATES, delivery_state
from conso.metrics import delivery_rate

PART_STATES = st.sampled_from(["sent", *RECEIPT_STATES])


def test_delivered_only_when_every_part_is() -> None:
    assert delivery_state([(1, "delivered"), (2, "sent")]) is None
    assert delivery_state([(1, "delivered"), (2, "delivered")]) == "delivered"
    assert delivery_state([]) is None


def test_the_first_part_that_ended_otherwise_names_the_state() -> None:
    assert delivery_state([(2, "expired"), (1, "undeliverable")]) == "undeliverable"
    assert delivery_state([(1, "delivered"), (2, "deleted"), (3, "sent")]) == "deleted"


def test_a_part_sent_twice_counts_once_delivered_or_still_pending() -> None:
    # Sent again after a broken link: the second copy arrived.
    assert delivery_state([(1, "undeliverable"), (1, "delivered")]) == "delivered"
    # One copy failed, the other may still arrive.
    assert delivery_state([(1, "expired"), (1, "sent")]) is None


@given(st.lists(st.tuples(st.integers(1, 4), PART_STATES), max_size=12), st.randoms())
def test_the_order_receipts_are_read_in_does_not_matter(parts: list[tuple[int, str]],
                                                       shuffle: object) -> None:
    shuffled = list(parts)
    shuffle.shuffle(shuffled)  # type: ignore[attr-defined]
    assert delivery_state(shuffled) == delivery_state(parts)


@given(st.lists(st.tuples(st.integers(1, 4), PART_STATES), min_size=1, max_size=12))
def test_delivered_means_every_part_has_a_delivered_copy(parts: list[tuple[int, str]]) -> None:
    state = delivery_state(parts)
    numbers = {number for number, _ in parts}
    delivered = {number for number, part in parts if part == "delivered"}
    assert (state == "delivered") == (delivered == numbers)
    assert state is None or state in RECEIPT_STATES


def test_delivery_rate_per_channel() -> None:
    assert delivery_rate("sms", {"sent": 10}) is None             # no receipt yet
    assert delivery_rate("sms", {"delivered": 3, "undeliverable": 1, "sent": 5}) == 0.75
    assert delivery_rate("email", {"sent": 9, "failed": 1}) == 0.9
    assert delivery_rate("email", {"queued": 4}) is None
