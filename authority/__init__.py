"""The authority file: people, families (家族), organisations and places (issue 14)."""
