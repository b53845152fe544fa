"""The community database: the platform's tables, the bot's own tables, queries and demo data.

Knows nothing of chats; imported by handlers/ and bot/, never the other way round.
"""
