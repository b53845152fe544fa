"""What the bot sends on its own: pending-member pushes, the operators' feed."""
