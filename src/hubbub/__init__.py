"""Hubbub: a social CRM — one inbox for every brand on every network."""

__version__ = "0.1.0"
