"""Synthetic claims data: the deterministic generator and the rules for where it may write."""
