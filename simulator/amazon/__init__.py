"""The Amazon Selling Partner API front: LWA, Seller Central consent and the SP-API operations.

`front.routes(context)` lists every route; one module per API.
"""
