"""`llaso serve`: an OpenAI-compatible HTTP server over the Python API, with keys, limits and a web page."""
