"""QuickBooks Online: Intuit's OAuth 2.0 server and the Accounting API (v3) for companies the simulator holds."""
