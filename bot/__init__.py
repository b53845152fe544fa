"""Everything that talks to the outside: configuration, CLI, the fronts and their wiring."""
