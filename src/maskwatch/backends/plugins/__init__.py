"""One module per detector backend (see maskwatch.backends)."""
