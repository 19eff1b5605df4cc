"""woocommerce plugin (in progress)."""
