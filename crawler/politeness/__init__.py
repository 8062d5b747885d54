"""Politeness towards the sites crawled (SPEC.md: polite by default): ``robots`` obeys robots.txt
for every request, concurrent ones included; ``crawl_delay`` holds a site's downloader slot to the
``Crawl-delay`` its robots.txt asks for; ``site_pacing`` keeps a site's rendered page requests
at least the slot's delay floor apart as the site sees them (issue #11)."""
