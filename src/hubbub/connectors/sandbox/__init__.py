"""Local stand-ins for networks, shipped so `hubbub demo` can show a live channel without an account anywhere.

Each speaks the network's documented wire format on 127.0.0.1, so the real connector and its client library
run unchanged against it; the tests use the same servers.
"""
