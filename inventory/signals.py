"""What inventory tells the apps above it. Inventory never imports them; they listen."""

from django.dispatch import Signal

# Sent (inside the transaction) when an order line's allocation changes state; kwargs: tenant_id,
# line_ref ("order-line:<pk>"), state (an AllocationState value). Orders keeps its lines' stock state by it.
allocation_changed = Signal()
