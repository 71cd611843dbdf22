"""One module per provider: verify, parse, reply. Registered in `channels.registry`."""
