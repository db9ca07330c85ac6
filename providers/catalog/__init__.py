"""What a model is and what it costs: the catalog and its data files, the model
directory (provider list endpoints merged in), pricing, request shaping, token
counting (the packaged tiktoken rank files, incremental text counts, provider count
endpoints), calibrated estimates, and code completion's prompt and `[completion]` settings.

May import: `switchboard.protocol`, `wire`, and the top's `base` and `errors`.
Never `auth`, `adapters` or `engine`.
"""
