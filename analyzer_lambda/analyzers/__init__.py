"""Analysers are plugins, as Scrapy components are: a package registers a factory under the
``rivalscope.analyzers`` entry-point group (SPEC.md ``ANALYZER``)."""
