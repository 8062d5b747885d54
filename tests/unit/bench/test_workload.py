"""The crawl benchmark's generated workload: the shape the benchmark's figures depend on."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bench.workload import JS_BLOCK_HEIGHT, Workload, build_workload


@pytest.fixture(scope="module")
def workload() -> Workload:
    return build_workload()


def test_default_workload_is_60_pages_on_6_sites_with_distinct_hosts(workload: Workload) -> None:
    assert workload.page_count == 60
    assert len(workload.sites) == 6
    assert len({site.host for site in workload.sites}) == 6
    assert all(len(site.pages) == 10 for site in workload.sites)
    assert all(len({page.path for page in site.pages}) == 10 for site in workload.sites)


def test_generation_is_deterministic_and_the_seed_changes_it() -> None:
    first, second = build_workload(12, seed=1), build_workload(12, seed=1)
    assert first == second
    assert build_workload(12, seed=2).sites != first.sites


def test_pages_are_realistic_pricing_gallery_lazy_and_late_javascript(workload: Workload) -> None:
    pages = [page for site in workload.sites for page in site.pages]
    pricing = [page for page in pages if page.kind == "pricing"]
    assert all(3000 <= page.expected_height <= 9000 for page in pricing)
    assert max(page.expected_height for page in pricing) > 7000
    assert all(b'loading="lazy"' in page.html for page in pages if page.kind == "lazy")
    assert sum(page.html.count(b"<img") for page in pages if page.kind == "gallery") >= 6 * 50
    late = [page for page in pages if b"/api/offers.json" in page.html]
    assert len(late) == 54  # every page but the galleries
    assert all(page.expected_height > JS_BLOCK_HEIGHT for page in late)


def test_images_are_generated_and_decodable(workload: Workload) -> None:
    images = workload.images
    decoded = [Image.open(io.BytesIO(data)) for data in images.values()]
    assert {image.format for image in decoded} == {"JPEG", "PNG"}
    assert all(image.width >= 640 for image in decoded)


def test_pages_option_spreads_pages_evenly_over_the_sites() -> None:
    workload = build_workload(500)
    assert workload.page_count == 500
    assert sorted(len(site.pages) for site in workload.sites) == [83, 83, 83, 83, 84, 84]


def test_scroll_listener_option_gives_every_page_a_scroll_listener_and_keeps_its_height(
    workload: Workload,
) -> None:
    listening = build_workload(scroll_listener=True)
    pages = [page for site in listening.sites for page in site.pages]
    assert all(b"addEventListener('scroll'" in page.html for page in pages)
    plain = [page for site in workload.sites for page in site.pages]
    assert not any(b"addEventListener('scroll'" in page.html for page in plain)
    assert [p.expected_height for p in pages] == [p.expected_height for p in plain]
