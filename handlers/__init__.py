"""What a referent can do, platform-neutral.

One function per use case: it takes a context and an actor, checks rights, changes the database
in one transaction with its audit entry, and returns a Reply. Adapters in bot/ only translate.
"""
