"""What the chat fronts share: entry, commands, button actions, linking, preferences."""
