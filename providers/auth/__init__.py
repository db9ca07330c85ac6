"""Who the user is: where a credential comes from and where it is kept (keyring, a
0600 file), redaction of secrets, the GitHub device flow, the OAuth web flow and its
tokens, config-declared OAuth, the GitHub-to-Copilot token exchange, OpenRouter's PKCE
key flow, the AWS, Azure and Google authenticators, and the sign-in flows.

May import: `switchboard.protocol`, `wire`, and the top's `base`, `errors` and `paths`.
Never `catalog`, `adapters` or `engine`.
"""
