"""Shipments: a parcel's carrier and tracking number recorded — by hand, from a CSV file, or by the
warehouse's signed callback — its stock moved from reserved to shipped, and the shipment confirmed back to
the channel the order came from (a Shopify fulfilment, a completed WooCommerce order with a tracking note,
Amazon's shipment confirmation feed). FBA orders are Amazon's to ship: nothing to record or confirm.

* `recording`: `shipment_record` (checked, idempotent on order + tracking number, audited, stock moved)
  and the reads the pages need.
* `confirmation`: sending each confirmation once (claims under row locks), backoff and retries, Amazon
  feeds and their processing reports, the console's retry.
* `callback`: the warehouse's "shipped" callback.
* `csv_import`: tracking numbers from a CSV file, all or nothing, with a per-line error report.
"""

from orders.shipments.callback import (
    CALLBACK_EVENTS,
    CALLBACK_MAX_BODY_BYTES,
    CallbackError,
    callback_payload,
    fulfilment_callback_process,
    fulfilment_target_by_callback_key_unscoped,
)
from orders.shipments.confirmation import (
    CLAIM_SECONDS,
    FEED_BATCH_SECONDS,
    FEED_POLL_SECONDS,
    MAX_ATTEMPTS,
    DueConfirmations,
    confirmations_queue,
    due_confirmations,
    feed_settle,
    shipment_confirm,
    shipment_confirmation_retry,
    shipment_feeds_poll,
    shipments_submit_feed,
)
from orders.shipments.csv_import import (
    CSV_COLUMNS,
    ShipmentImportResult,
    shipment_import_template_lines,
    shipments_import_csv,
)
from orders.shipments.recording import (
    FIELD_MAX,
    LineToShip,
    lines_to_ship,
    shipment_get_or_404,
    shipment_list,
    shipment_list_for_order,
    shipment_record,
    shipment_record_unqueued,
    shipment_refusal,
    shipped_quantities,
)

__all__ = [
    "CALLBACK_EVENTS",
    "CALLBACK_MAX_BODY_BYTES",
    "CLAIM_SECONDS",
    "CSV_COLUMNS",
    "FEED_BATCH_SECONDS",
    "FEED_POLL_SECONDS",
    "FIELD_MAX",
    "MAX_ATTEMPTS",
    "CallbackError",
    "DueConfirmations",
    "LineToShip",
    "ShipmentImportResult",
    "callback_payload",
    "confirmations_queue",
    "due_confirmations",
    "feed_settle",
    "fulfilment_callback_process",
    "fulfilment_target_by_callback_key_unscoped",
    "lines_to_ship",
    "shipment_confirm",
    "shipment_confirmation_retry",
    "shipment_feeds_poll",
    "shipment_get_or_404",
    "shipment_import_template_lines",
    "shipment_list",
    "shipment_list_for_order",
    "shipment_record",
    "shipment_record_unqueued",
    "shipment_refusal",
    "shipments_import_csv",
    "shipments_submit_feed",
    "shipped_quantities",
]
