"""shopify plugin (in progress)."""
