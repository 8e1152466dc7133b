"""Tags for a posting: category (model), remote + eligible states, credentials (extractors).

Pure functions of the posting's text: no database, no network.
"""

# Bump when the model's code or the extractors' rules change: it is part of every tag's
# model_version, so `hcjobs retag` knows which stored tags are stale.
TAGGER_REVISION = 4
