"""One stock pool across channels: master SKUs, warehouses, stock levels that are the sum of their
movements, the channel SKU mapping, and the allocation of order lines to stock.

The database holds the rule that matters most: a level never has more reserved than on hand, nor less
than nothing (CHECK constraints), so no code path — concurrent ingest included — can oversell.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, validate_currency_code
from acorn.tenancy.models import TenantScopedModel
from channels.models import Region, Store


class Product(TenantScopedModel):
    """A master SKU: what the seller stocks, whatever each channel calls it."""

    sku = models.CharField(_("SKU"), max_length=100)
    name = models.CharField(_("name"), max_length=300)
    unit_cost_amount = models.DecimalField(
        _("unit cost"), max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=0
    )
    unit_cost_currency = models.CharField(
        _("cost currency"), max_length=3, default="USD", validators=[validate_currency_code]
    )
    weight_grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    is_bundle = models.BooleanField(_("bundle / kit"), default=False)
    low_stock_threshold = models.PositiveIntegerField(_("low-stock threshold"), null=True, blank=True)
    # Set when a low-stock alert went out; cleared when available is back above the threshold, so one
    # dip raises one alert.
    low_stock_alerted_at = models.DateTimeField(_("low-stock alert sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [models.UniqueConstraint(fields=["tenant", "sku"], name="product_unique_sku")]

    def __str__(self) -> str:
        return self.sku


class BundleComponent(TenantScopedModel):
    """A bundle SKU consumes its components: selling one bundle takes `quantity` of each."""

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="used_in")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("bundle component")
        verbose_name_plural = _("bundle components")
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundle_component_unique"),
            models.CheckConstraint(condition=~Q(bundle=F("component")), name="bundle_not_itself"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="bundle_quantity_positive"),
        ]


class WarehouseKind(models.TextChoices):
    OWN = "own", _("Own warehouse")
    THIRD_PARTY = "third_party", _("Third-party / overseas warehouse")
    FBA = "fba", _("Amazon FBA (read-only)")


class Warehouse(TenantScopedModel):
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=WarehouseKind.choices, default=WarehouseKind.OWN)
    country = models.CharField(_("country"), max_length=2, blank=True)
    # FBA warehouses: one per Amazon region; Amazon owns their numbers.
    region = models.CharField(_("Amazon region"), max_length=2, choices=Region.choices, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="warehouse_unique_name"),
            models.UniqueConstraint(
                fields=["tenant", "region"], condition=Q(kind="fba"), name="warehouse_one_fba_per_region"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def read_only(self) -> bool:
        return self.kind == WarehouseKind.FBA


class StockLevel(TenantScopedModel):
    """Stock of one product in one warehouse. Always equals the sum of its movements."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="levels")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    # FBA only (Amazon's own figures): on its way in, and units that cannot be sold.
    inbound = models.IntegerField(_("inbound"), default=0)
    unfulfillable = models.IntegerField(_("unfulfillable"), default=0)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stock_level_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(on_hand__gte=F("reserved")), name="stock_never_oversold"),
        ]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", _("Release")
    SHIPMENT = "shipment", _("Shipment")
    RETURN_TO_STOCK = "return", _("Return to stock")
    DAMAGED = "damaged", _("Damaged")
    ADJUSTMENT = "adjustment", _("Adjustment")
    FBA_SNAPSHOT = "fba_snapshot", _("FBA snapshot")


class StockMovement(TenantScopedModel):
    """An append-only change of a stock level; the ledger of movements sums to the level."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=20, choices=MovementKind.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["product", "warehouse", "-created_at"], name="movement_product_time")]


class SkuMapping(TenantScopedModel):
    """A channel's SKU (or product id) → the master product, times a multiplier (a 2-pack listing = 2)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sku_mappings")
    channel_sku = models.CharField(_("channel SKU"), max_length=200, blank=True)
    channel_product_id = models.CharField(_("channel product id"), max_length=60, blank=True)
    asin = models.CharField(_("ASIN"), max_length=20, blank=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="mappings")
    quantity_multiplier = models.PositiveIntegerField(_("units per channel unit"), default=1)
    # Amazon FBA SKUs: Amazon holds and counts the stock, so ACORN never pushes a quantity for them.
    fulfilled_by_channel = models.BooleanField(_("fulfilled by Amazon"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("SKU mapping")
        verbose_name_plural = _("SKU mappings")
        ordering = ["store", "channel_sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "channel_sku"], condition=~Q(channel_sku=""), name="sku_mapping_unique_sku"
            ),
            models.UniqueConstraint(
                fields=["store", "channel_product_id"],
                condition=~Q(channel_product_id=""),
                name="sku_mapping_unique_product_id",
            ),
            models.CheckConstraint(
                condition=~Q(channel_sku="", channel_product_id=""), name="sku_mapping_names_something"
            ),
            models.CheckConstraint(condition=Q(quantity_multiplier__gte=1), name="sku_mapping_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_sku or self.channel_product_id} → {self.product_id}"


class AllocationState(models.TextChoices):
    UNMAPPED = "unmapped", _("Unmapped SKU")
    WAITING_PAYMENT = "waiting_payment", _("Waiting for payment")
    RESERVED = "reserved", _("Reserved")
    BACKORDERED = "backordered", _("Backordered")
    SHIPPED = "shipped", _("Shipped")
    RELEASED = "released", _("Released")


class LineAllocation(TenantScopedModel):
    """Stock held for one merchant-fulfilled order line: its state, and what it reserved per product and
    warehouse in `reservations`.

    Inventory does not know orders (DESIGN: orders sit above inventory). The line is named by `line_ref`
    ("order-line:<pk>") and the allocation keeps what it needs to resolve the line again on its own — the
    channel SKU or product id, the quantity, what has shipped and the warehouse orders decided serves it —
    so a new mapping, a receipt or a release can serve waiting lines without reading orders. Orders learn
    of each change through `inventory.hooks.allocations_changed` (one batch per page or operation).

    What it holds is exact: (quantity - shipped_quantity) x multiplier units of the product (of each
    component, for a bundle) in its warehouse when RESERVED; less (possibly nothing) when BACKORDERED;
    nothing in any other state. `inventory.allocation` keeps it so.
    """

    line_ref = models.CharField(_("order line"), max_length=60)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    reference = models.CharField(_("reference"), max_length=200, blank=True)  # "order X line Y"
    channel_sku = models.CharField(_("channel SKU"), max_length=200, blank=True)
    channel_product_id = models.CharField(_("channel product id"), max_length=60, blank=True)
    quantity = models.PositiveIntegerField(_("quantity ordered"), default=0)  # in channel units
    waiting_since = models.DateTimeField(_("ordered"), default=timezone.now)  # oldest orders are served first
    state = models.CharField(_("state"), max_length=20, choices=AllocationState.choices)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    units = models.PositiveIntegerField(_("units"), default=0)  # line quantity x multiplier
    # Master units per channel unit (the mapping's multiplier when the line was resolved).
    multiplier = models.PositiveIntegerField(_("units per channel unit"), default=1)
    # Channel units that have left stock in recorded shipments (or when the channel said shipped).
    shipped_quantity = models.PositiveIntegerField(_("quantity shipped"), default=0)
    # Where the line is served from, as orders decided (its fulfilment route's warehouse): it reserves,
    # ships and is restocked there. Empty: no route decided, any active own or third-party warehouse that
    # holds the whole line serves it.
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("warehouse")
    )
    # The warehouse its last shipment took stock from (returns go back there).
    shipped_from = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("shipped from")
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("line allocation")
        verbose_name_plural = _("line allocations")
        constraints = [models.UniqueConstraint(fields=["tenant", "line_ref"], name="allocation_unique_line")]
        indexes = [models.Index(fields=["tenant", "state"], name="allocation_tenant_state")]

    def __str__(self) -> str:
        return self.reference or self.line_ref


class Reservation(TenantScopedModel):
    """Units of one product held in one warehouse for one allocation (bundles hold several)."""

    allocation = models.ForeignKey(LineAllocation, on_delete=models.CASCADE, related_name="reservations")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["allocation", "product", "warehouse"], name="reservation_unique")
        ]


class SharingRule(TenantScopedModel):
    """How much of the pool a store shows: `share_percent` of what is available after `safety_buffer`,
    at most `max_listed`, from the chosen warehouses (none chosen: every own and third-party warehouse)."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="sharing_rule")
    share_percent = models.PositiveSmallIntegerField(_("share of available (%)"), default=100)
    safety_buffer = models.PositiveIntegerField(_("safety buffer (units)"), default=0)
    max_listed = models.PositiveIntegerField(_("maximum listed"), null=True, blank=True)
    warehouses = models.ManyToManyField(Warehouse, blank=True, related_name="+", verbose_name=_("warehouses"))
    # Off until the seller turns it on: pushing overwrites what the channel shows.
    push_enabled = models.BooleanField(_("push quantities to the channel"), default=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("sharing rule")
        verbose_name_plural = _("sharing rules")
        constraints = [
            models.CheckConstraint(condition=Q(share_percent__lte=100), name="sharing_percent_at_most_100"),
        ]


class PushState(models.TextChoices):
    IN_SYNC = "in_sync", _("In step")
    PENDING = "pending", _("Waiting to push")
    FAILED = "failed", _("Push failed")
    REJECTED = "rejected", _("Refused by the channel")
    NOT_PUSHED = "not_pushed", _("Not pushed")


class ChannelListing(TenantScopedModel):
    """A mapped channel SKU's quantity: what the sharing rule says it should show, and what the channel
    last said it shows. A push is due while they differ."""

    mapping = models.OneToOneField(SkuMapping, on_delete=models.CASCADE, related_name="listing")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    target_quantity = models.IntegerField(_("should show"), null=True, blank=True)
    channel_quantity = models.IntegerField(_("channel shows"), null=True, blank=True)
    # Shopify: the inventory item and location a variant's quantity lives at (read from the shop).
    inventory_item_id = models.CharField(max_length=80, blank=True)
    location_id = models.CharField(max_length=80, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=PushState.choices, default=PushState.NOT_PUSHED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    pushed_at = models.DateTimeField(_("last pushed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("channel listing")
        verbose_name_plural = _("channel listings")
        indexes = [models.Index(fields=["store", "state"], name="listing_store_state")]


class PushOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    CONFLICT = "conflict", _("Changed on the channel meanwhile")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Refused")


class StockPush(TenantScopedModel):
    """One attempt to set a channel's quantity: the push log."""

    listing = models.ForeignKey(ChannelListing, on_delete=models.CASCADE, related_name="pushes")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    quantity = models.IntegerField(_("quantity"))
    previous = models.IntegerField(_("channel showed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=PushOutcome.choices)
    message = models.TextField(_("message"), blank=True)
    key = models.CharField(_("idempotency key"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("stock push")
        verbose_name_plural = _("stock pushes")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "-created_at"], name="push_store_time")]
