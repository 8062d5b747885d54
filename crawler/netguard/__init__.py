"""The private-address guard (SPEC.md ``ALLOW_PRIVATE_ADDRESSES``): ``policy`` decides which
addresses a crawl may reach; ``middleware`` holds Scrapy's own requests to it; ``proxy`` and
``relay`` hold the browser to it, every image, frame and fetch of a rendered page included."""
