"""The page item: one crawled page, with exactly the fields of SPEC.md "Page record".

It extends ``s3pipeline.Page`` (``url``, ``body``, ``crawled_at``), so chunks stay readable by
anything that knows that item, and adds the fields rivalscope needs. Items are built only from
``rivalscope_core.records.PageRecord`` so the record format lives in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import scrapy
from s3pipeline import Page

if TYPE_CHECKING:
    from rivalscope_core.records import PageRecord


class PageItem(Page):  # type: ignore[misc] # s3pipeline ships no type hints
    final_url = scrapy.Field()
    status = scrapy.Field()
    title = scrapy.Field()
    screenshot = scrapy.Field()
    prompt = scrapy.Field()
    competitor = scrapy.Field()
    change_rules = scrapy.Field()
    error = scrapy.Field()
    ignored_boxes = scrapy.Field()

    @classmethod
    def from_record(cls, record: PageRecord) -> PageItem:
        """Fields in the order of SPEC.md, as the JSON-lines exporter writes them."""
        item = cls()
        for name, value in record.to_dict().items():
            item[name] = value
        return item

    def __repr__(self) -> str:
        # The body and the screenshot are megabytes: logs show what identifies the page.
        error = self.get("error")
        outcome = f"error={error['type']}" if error else f"status={self.get('status')}"
        return f"<PageItem {self.get('url')} {outcome}>"
