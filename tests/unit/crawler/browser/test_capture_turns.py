"""Tall captures take turns, short ones never wait (issue #16). Each test can fail: a turn
that did not exclude would let the second capture in while the first is still inside, one that
held short captures would let them in only after the first left."""

from __future__ import annotations

import threading

import pytest

from crawler.browser.capture_turns import CaptureHeightBudget, TallCaptureTurns

# How long the first capture stays inside waiting for the second to come in: only reached
# when the second is (rightly) kept out, never a measured duration.
_HOLD = 2.0


def _second_while_first_inside(
    turns: TallCaptureTurns | CaptureHeightBudget, first: int, second: int
) -> bool:
    """Whether a capture of ``second`` px got in while one of ``first`` px was inside."""
    first_inside = threading.Event()
    second_in = threading.Event()
    seen: list[bool] = []

    def first_capture() -> None:
        with turns.turn(first):
            first_inside.set()
            second_in.wait(_HOLD)
            first_inside.clear()

    def second_capture() -> None:
        first_inside.wait()
        with turns.turn(second):
            seen.append(first_inside.is_set())
            second_in.set()

    threads = [threading.Thread(target=first_capture), threading.Thread(target=second_capture)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen == [True]


def test_a_tall_capture_waits_for_another_tall_one():
    turns = TallCaptureTurns(min_height=4000, wait=30)
    assert not _second_while_first_inside(turns, 8500, 4000)


def test_a_short_capture_never_waits_for_a_tall_one():
    turns = TallCaptureTurns(min_height=4000, wait=30)
    assert _second_while_first_inside(turns, 8500, 3999)


def test_a_tall_capture_never_waits_for_a_short_one():
    turns = TallCaptureTurns(min_height=4000, wait=30)
    assert _second_while_first_inside(turns, 3999, 8500)


def test_zero_turns_the_turns_off():
    turns = TallCaptureTurns(min_height=0, wait=30)
    assert _second_while_first_inside(turns, 16000, 16000)


def test_a_turn_not_given_in_time_is_taken_anyway():
    # A capture stuck in one browser must not hold another's page up to its deadline.
    turns = TallCaptureTurns(min_height=4000, wait=0.01)
    assert _second_while_first_inside(turns, 8500, 8500)
    with turns.turn(8500) as first, turns.turn(8500) as second:
        assert (first, second) == (True, False)


def test_a_turn_is_given_back_when_the_capture_fails():
    turns = TallCaptureTurns(min_height=4000, wait=0.01)
    with pytest.raises(OSError), turns.turn(8500):
        raise OSError("chromedriver gone")
    with turns.turn(8500) as had_turn:
        assert had_turn


def test_captures_within_the_height_budget_run_together():
    budget = CaptureHeightBudget(budget=10000, wait=30)
    assert _second_while_first_inside(budget, 5000, 5000)


def test_a_capture_past_the_height_budget_waits():
    budget = CaptureHeightBudget(budget=10000, wait=30)
    assert not _second_while_first_inside(budget, 6000, 5000)


def test_a_capture_taller_than_the_budget_runs_alone():
    budget = CaptureHeightBudget(budget=10000, wait=30)
    with budget.turn(20000) as given:
        assert given


def test_zero_budget_turns_it_off():
    budget = CaptureHeightBudget(budget=0, wait=30)
    assert _second_while_first_inside(budget, 9000, 9000)
