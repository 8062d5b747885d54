"""bench.page_timeline's analysis: the steps of a page and the gaps between a browser's pages."""

from __future__ import annotations

from bench.page_timeline import analyse, render


def _events() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    # One browser, two pages: 0.0–1.0 s and 1.2–2.0 s; the reactor was late 0.05 s in the gap.
    for job, (t0, t1) in enumerate([(0.0, 1.0), (1.2, 2.0)], start=1):
        events.append({"kind": "job", "job": job, "url": f"u{job}", "driver": 7,
                       "t0": t0, "t1": t1, "cpu": 0.4, "py": 0.02})  # fmt: skip
        events.append({"kind": "cmd", "step": "get", "driver": 7, "job": job,
                       "t0": t0, "t1": t0 + 0.1, "cpu": 0.09})  # fmt: skip
        events.append({"kind": "cmd", "step": "settle", "driver": 7, "job": job,
                       "t0": t0 + 0.1, "t1": t0 + 0.4, "cpu": 0.01})  # fmt: skip
        events.append({"kind": "thread", "name": "job", "called": t0 - 0.001,
                       "t_start": t0, "t_end": t1, "delivered": t1 + 0.002})  # fmt: skip
    events.append({"kind": "lag", "t0": 1.05, "t1": 1.10})
    return events


def test_steps_are_summed_per_page_and_the_rest_is_python_between_commands():
    result = analyse(_events())
    assert result["pages"] == 2
    wall, cpu, count, _mean = result["steps"]["settle"]
    assert (round(wall), round(cpu), count) == (300, 10, 1)
    # 1000 and 800 ms pages, 400 ms of commands each
    assert round(result["steps"]["python between commands"][0]) == 500


def test_the_gap_between_two_pages_of_a_browser_is_split():
    gaps = analyse(_events())["gaps"]
    assert round(gaps["total gap (job end → next job start)"][0]) == 200
    assert round(gaps["thread → reactor (result delivered)"][0]) == 2
    assert round(gaps["reactor: delivered → next job's deferToThread"][0]) == 197
    assert round(gaps["reactor late (lag samples in the gap)"][0]) == 50


def test_render_names_every_step():
    text = render(analyse(_events()), "t.json")
    assert "| settle | 300.0 | 10.0 | 1 |" in text
    assert "2 pages" in text
