"""The WooCommerce front of the channel simulator: WordPress sites with WooCommerce REST API v3 and signed
webhooks, served over HTTPS (Basic auth) and plain HTTP (OAuth 1.0a). See `context.WooContext`."""
