"""Fulfilment push: sending paid merchant-fulfilled orders to the seller's warehouses and following them.

* `services`: targets (HTTPS endpoint, CSV file or pick list) and routing rules, the one request per order
  and its states, cancellations, the warehouse's acknowledgements, and the signatures both sides share.
* `push`: sending a request over HTTPS once (claims under row locks), backoff and retries.
* `files`: the CSV batches and pick lists of file-based targets.
* `selectors`: the reads of the pages and of routing (which target an order goes to).

The parcel's tracking number and the confirmation to the channel belong to `orders.shipments`.
"""
