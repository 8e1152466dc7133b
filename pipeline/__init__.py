"""Everything after parsing: normalize, deduplicate, store, classify, summarize, export."""
