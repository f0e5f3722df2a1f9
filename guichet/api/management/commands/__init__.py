"""Commands: ``create_api_token``."""
