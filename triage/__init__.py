"""Triage: suggestions (region, topic, kind, language, duplicates, spam) added to every report before forwarding."""
