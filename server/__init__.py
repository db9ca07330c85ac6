"""The Switchboard language server: LSP lifecycle, custom methods, progress, CLI."""

__version__ = "0.1.0"
