"""Offline mock of the Runware API for GLM-Image."""
