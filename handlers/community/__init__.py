"""A community managed as in the web admin: pending members, members, settings, card."""
