"""Politeness towards the sites crawled (SPEC.md: polite by default): ``robots`` obeys robots.txt
for every request, concurrent ones included; ``crawl_delay`` holds a site's downloader slot to the
``Crawl-delay`` its robots.txt asks for."""
