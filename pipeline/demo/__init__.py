"""The bundled demo job board: realistic postings served on localhost in real board formats."""
