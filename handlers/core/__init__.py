"""What every use case shares: context, refusals, replies, transactions, messages, rights."""
