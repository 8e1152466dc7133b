"""Tags for a posting: category (model), remote + eligible states, credentials (extractors).

Pure functions of the posting's text: no database, no network.
"""
