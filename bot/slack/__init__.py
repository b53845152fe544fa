"""The Slack front: a slack-bolt AsyncApp translating Slack requests to the use cases."""
