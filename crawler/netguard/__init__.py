"""The private-address guard (SPEC.md ``ALLOW_PRIVATE_ADDRESSES``): ``policy`` decides which
addresses a crawl may reach and ``outbound`` which proxy public sites are reached through;
``config`` builds both once per crawl; ``middleware`` holds Scrapy's own requests to them;
``proxy`` and ``relay`` hold the browser to them, every image, frame and fetch of a rendered page
included; ``wire`` names what the proxy and its clients agree on (its refusal header)."""
