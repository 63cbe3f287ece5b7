"""Greenlane's domain model: plain Python, standard library only."""
