"""Inbound message to report envelope: a short pipeline of pure steps."""
