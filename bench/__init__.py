"""Benchmarks: the crawl (bench.crawl) and the analyser."""
