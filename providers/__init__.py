"""Provider translators and the shared layer they run on.

Each provider is a sans-IO translator (providers/adapters/): it builds an
HTTP request from a normalized ChatParams and turns wire events into
normalized ChatEvents. All I/O goes through the one shared transport.
Nothing here knows about LSP.
"""
