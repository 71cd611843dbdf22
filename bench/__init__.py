"""The benchmark: `python -m bench` (or `make bench`) starts every piece on loopback and measures them side by side.

Phases of one run: `bare` (the HTTP stack's ceiling), `intake` (signed Twilio webhooks answered durably),
`sweep` (open-loop latency against offered load, for the plot), `e2e` (webhook to stored in the case store) and
`naive` (the straightforward RQ design, for comparison). Every figure is checked against the case store.
"""
