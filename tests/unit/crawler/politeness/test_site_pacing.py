"""The site-side pacing rules, on a fake clock."""

from __future__ import annotations

import threading

from crawler.politeness.site_pacing import SitePacer


class FakeClocks:
    """A monotonic clock and a wall clock 1,000,000 s apart; ``sleep`` advances both."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + 1_000_000.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def _pacer(clocks: FakeClocks) -> SitePacer:
    return SitePacer(clock=clocks.monotonic, wall=clocks.wall, sleep=clocks.sleep)


def test_the_first_page_of_a_site_goes_at_once() -> None:
    clocks = FakeClocks()
    pacer = _pacer(clocks)
    assert pacer.wait_for("a", 0.5) == 0.0
    with pacer.navigation("a", 0.5):
        pass
    assert clocks.slept == []


def test_the_floor_counts_from_when_the_site_had_the_previous_request() -> None:
    """Page 1's browser was slow to start: its request reached the site 2 s after it left the
    slot. Page 2 leaves 0.2 s after page 1 ended, 0.3 s after the site answered it: it is held
    until the floor has passed since the site had page 1, not since page 1 left the slot."""
    clocks = FakeClocks()
    pacer = _pacer(clocks)
    with pacer.navigation("a", 0.5) as arrival:
        clocks.now += 2.0  # navigation in progress
        arrival.note(clocks.wall() - 0.1)  # response headers 0.1 s before get returned
    responded = clocks.now - 0.1
    clocks.now += 0.2
    assert round(pacer.wait_for("a", 0.5), 6) == 0.2
    with pacer.navigation("a", 0.5):
        assert round(clocks.now - responded, 6) == 0.5
    assert clocks.slept == [0.2]


def test_other_sites_are_not_held() -> None:
    clocks = FakeClocks()
    pacer = _pacer(clocks)
    with pacer.navigation("a", 1.0):
        pass
    assert pacer.wait_for("b", 1.0) == 0.0
    with pacer.navigation("b", 1.0):
        pass
    assert clocks.slept == []


def test_a_failed_navigation_counts_as_arrived_when_it_ended() -> None:
    clocks = FakeClocks()
    pacer = _pacer(clocks)
    try:
        with pacer.navigation("a", 1.0):
            clocks.now += 3.0
            raise RuntimeError("net::ERR_CONNECTION_RESET")
    except RuntimeError:
        pass
    assert pacer.wait_for("a", 1.0) == 1.0


def test_a_response_time_outside_the_navigation_is_bounded_by_it() -> None:
    """A clock mismatch cannot make the pacer think the site saw the request before we sent
    it, nor after the navigation ended."""
    clocks = FakeClocks()
    pacer = _pacer(clocks)
    with pacer.navigation("a", 1.0) as arrival:
        clocks.now += 1.0
        arrival.note(0.0)  # decades ago
    assert pacer.wait_for("a", 1.0) == 0.0  # bounded by the start: 1 s ago
    with pacer.navigation("a", 1.0) as arrival:
        arrival.note(clocks.wall() + 50.0)  # in the future
    assert pacer.wait_for("a", 1.0) == 1.0  # bounded by the end: now


def test_no_floor_means_no_wait() -> None:
    clocks = FakeClocks()
    pacer = _pacer(clocks)
    with pacer.navigation("a", 0.0):
        pass
    assert pacer.wait_for("a", 0.0) == 0.0


def test_concurrent_navigations_of_one_site_take_turns() -> None:
    """With CONCURRENT_REQUESTS_PER_DOMAIN above 1, two pages of one site never navigate at
    the same time: the second waits for the first's arrival, then for the floor."""
    pacer = SitePacer()
    inside = threading.Event()
    order: list[str] = []

    def first() -> None:
        with pacer.navigation("a", 0.0):
            inside.set()
            order.append("first in")
            threading.Event().wait(0.05)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    with pacer.navigation("a", 0.0):
        order.append("second in")
    thread.join(5)
    assert order == ["first in", "first out", "second in"]


def test_a_page_that_navigates_by_itself_moves_the_floor_to_its_last_request() -> None:
    clocks = FakeClocks()
    pacer = _pacer(clocks)
    with pacer.navigation("a", 1.0) as arrival:
        arrival.note(clocks.wall())
    clocks.now += 0.3
    pacer.saw("a", clocks.wall())  # a meta refresh 0.3 s after the page
    pacer.saw("a", clocks.wall() - 5.0)  # an earlier time never moves it back
    pacer.saw("a", None)
    clocks.now += 0.2
    assert round(pacer.wait_for("a", 1.0), 6) == 0.8
