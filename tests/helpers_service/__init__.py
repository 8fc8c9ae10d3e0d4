"""Helpers for the service tests: test clips from the shared photos, a mosquitto broker, a webhook receiver."""
