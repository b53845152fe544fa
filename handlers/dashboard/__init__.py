"""The dashboard in chat: indicator charts, the synthesis card, their numbers."""
