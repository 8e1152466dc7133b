"""Spider kinds: each module holds one spider whose `name` is the kind used in sources.toml."""
