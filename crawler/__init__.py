"""The Scrapy project: the ``competitors`` spider, Selenium rendering behind the downloader
slots, the private-address guard and the S3 archive."""
