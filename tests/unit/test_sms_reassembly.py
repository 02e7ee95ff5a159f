"""Putting concatenated texts back together (conso.sms.reassembly)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conso.sms.reassembly import Reassembler
from conso.sms.smpp.encoding import Concat, InboundText

SOURCE, DESTINATION = "+32470000001", "1921"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def part(text: str, number: int, total: int, reference: int = 7) -> InboundText:
    return InboundText(text, Concat(reference, total, number))


def test_a_whole_text_comes_back_at_once() -> None:
    assembler = Reassembler()
    assert assembler.add(SOURCE, DESTINATION, InboundText("SOLDE", None)) == "SOLDE"
    assert assembler.pending() == 0


def test_parts_in_any_order_give_the_text_in_number_order() -> None:
    assembler = Reassembler()
    assert assembler.add(SOURCE, DESTINATION, part("C", 3, 3)) is None
    assert assembler.add(SOURCE, DESTINATION, part("A", 1, 3)) is None
    assert assembler.pending() == 1
    assert assembler.add(SOURCE, DESTINATION, part("B", 2, 3)) == "ABC"
    assert assembler.pending() == 0


def test_a_single_part_text_and_duplicates() -> None:
    assembler = Reassembler()
    assert assembler.add(SOURCE, DESTINATION, part("only", 1, 1)) == "only"
    assert assembler.add(SOURCE, DESTINATION, part("A", 1, 2)) is None
    assert assembler.add(SOURCE, DESTINATION, part("A", 1, 2)) is None
    assert assembler.add(SOURCE, DESTINATION, part("B", 2, 2)) == "AB"
    # late duplicates of a given text are ignored, not given again
    assert assembler.add(SOURCE, DESTINATION, part("A", 1, 2)) is None
    assert assembler.add(SOURCE, DESTINATION, part("B", 2, 2)) is None
    assert assembler.pending() == 0


def test_a_reused_reference_with_other_parts_is_a_new_text() -> None:
    assembler = Reassembler()
    assembler.add(SOURCE, DESTINATION, part("A", 1, 2))
    assert assembler.add(SOURCE, DESTINATION, part("B", 2, 2)) == "AB"
    assert assembler.add(SOURCE, DESTINATION, part("X", 1, 2)) is None
    assert assembler.add(SOURCE, DESTINATION, part("Y", 2, 2)) == "XY"


def test_parts_are_kept_apart_by_source_destination_reference_and_total() -> None:
    assembler = Reassembler()
    assert assembler.add("+32470000001", "1921", part("a1", 1, 2)) is None
    assert assembler.add("+32470000002", "1921", part("b1", 1, 2)) is None
    assert assembler.add("+32470000001", "8644", part("c1", 1, 2)) is None
    assert assembler.add("+32470000001", "1921", part("d1", 1, 2, reference=8)) is None
    assert assembler.add("+32470000001", "1921", part("e1", 1, 3)) is None
    assert assembler.pending() == 5
    assert assembler.add("+32470000002", "1921", part("b2", 2, 2)) == "b1b2"
    assert assembler.add("+32470000001", "1921", part("a2", 2, 2)) == "a1a2"
    assert assembler.pending() == 3


def test_incomplete_sets_expire_after_ttl() -> None:
    clock = Clock()
    assembler = Reassembler(ttl=60, clock=clock)
    assembler.add(SOURCE, DESTINATION, part("A", 1, 2))
    clock.now += 30
    assembler.add(SOURCE, DESTINATION, part("x", 1, 2, reference=9))
    clock.now += 30
    assert (assembler.pending(), assembler.expired) == (2, 0)       # 60 s is not older
    clock.now += 1
    assert (assembler.pending(), assembler.expired) == (1, 1)
    # the late part starts a new set, which never completes either
    assert assembler.add(SOURCE, DESTINATION, part("B", 2, 2)) is None
    clock.now += 61
    assert (assembler.pending(), assembler.expired) == (0, 3)


def test_the_oldest_set_goes_when_too_many_are_open() -> None:
    clock = Clock()
    assembler = Reassembler(max_pending=2, clock=clock)
    for reference in (1, 2, 3):
        clock.now += 1
        assert assembler.add(SOURCE, DESTINATION, part("a", 1, 2, reference)) is None
    assert (assembler.pending(), assembler.evicted, assembler.expired) == (2, 1, 0)
    assert assembler.add(SOURCE, DESTINATION, part("b", 2, 2, 1)) is None    # 1 is gone
    assert assembler.add(SOURCE, DESTINATION, part("b", 2, 2, 3)) == "ab"


def test_halves_of_a_surrogate_pair_are_joined() -> None:
    assembler = Reassembler()
    assembler.add(SOURCE, DESTINATION, part("ab\ud83d", 1, 2))
    assert assembler.add(SOURCE, DESTINATION, part("\ude00c", 2, 2)) == "ab😀c"
    assert assembler.add(SOURCE, DESTINATION, part("x\ud83d", 1, 1, 3)) == "x\ufffd"


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="ttl"):
        Reassembler(ttl=0)
    with pytest.raises(ValueError, match="max_pending"):
        Reassembler(max_pending=0)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, list[InboundText]]:
    """A text, cut into 1..12 parts, each part sent 1..3 times, in any order."""
    text = draw(st.text(min_size=1, max_size=200))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(text)),
                                max_size=11)))
    bounds = [0, *cuts, len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    reference = draw(st.integers(min_value=0, max_value=255))
    parts = [part(piece, number, len(pieces), reference)
             for number, piece in enumerate(pieces, start=1)]
    sent = [p for p in parts for _ in range(draw(st.integers(min_value=1, max_value=3)))]
    return text, draw(st.permutations(sent))


@given(deliveries())
def test_any_order_with_duplicates_gives_the_text_exactly_once(
    case: tuple[str, list[InboundText]],
) -> None:
    text, sent = case
    assembler = Reassembler()
    given_back = [r for r in (assembler.add(SOURCE, DESTINATION, p) for p in sent)
                  if r is not None]
    assert given_back == [text]
    assert assembler.pending() == 0
