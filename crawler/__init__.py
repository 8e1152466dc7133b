"""Scrapy project: one spider per source kind, fetching and parsing into JobPosting items."""
