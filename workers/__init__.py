"""RQ jobs: forward reports to the case store, send replies, answer status queries."""
