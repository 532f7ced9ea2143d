"""Console URLs of refunds, under /app/refunds/. URL keywords for objects: refund_pk, return_pk, rule_pk,
order_pk, alert_pk, threshold_pk, product_pk."""

from django.urls import path, re_path

from refunds import views, views_alerts, views_approvals, views_rules

app_name = "refunds"

urlpatterns = [
    # Lists, detail pages, tag overrides, the review queue and the export (views.py).
    path("", views.refund_list_view, name="refund-list"),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.refund_export_view, name="refund-export"),
    path("<int:refund_pk>/", views.refund_detail_view, name="refund-detail"),
    path("<int:refund_pk>/tag/", views.refund_tag_view, name="refund-tag"),
    path("<int:refund_pk>/reviewed/", views.refund_review_view, name="refund-review"),
    path("returns/", views.return_list_view, name="return-list"),
    path("returns/<int:return_pk>/", views.return_detail_view, name="return-detail"),
    path("returns/<int:return_pk>/tag/", views.return_tag_view, name="return-tag"),
    path("returns/<int:return_pk>/reviewed/", views.return_review_view, name="return-review"),
    path("review/", views.review_queue_view, name="review-queue"),
    # Classification rules (views_rules.py).
    path("rules/", views_rules.rule_list_view, name="rule-list"),
    path("rules/new/", views_rules.rule_create_view, name="rule-create"),
    path("rules/rerun/", views_rules.rule_rerun_view, name="rule-rerun"),
    path("rules/<int:rule_pk>/", views_rules.rule_edit_view, name="rule-edit"),
    path("rules/<int:rule_pk>/delete/", views_rules.rule_delete_view, name="rule-delete"),
    path("rules/<int:rule_pk>/move/", views_rules.rule_move_view, name="rule-move"),
    path("rules/<int:rule_pk>/enabled/", views_rules.rule_enabled_view, name="rule-enabled"),
    # Refund requests, approvals, the approval policy and restocking (views_approvals.py).
    path("orders/<int:order_pk>/request/", views_approvals.refund_request_view, name="refund-request"),
    path(
        "orders/<int:order_pk>/request/preview/",
        views_approvals.refund_request_preview_view,
        name="refund-request-preview",
    ),
    path("approvals/", views_approvals.approval_queue_view, name="approval-queue"),
    path("approvals/policy/", views_approvals.approval_policy_view, name="approval-policy"),
    path("<int:refund_pk>/approve/", views_approvals.refund_approve_view, name="refund-approve"),
    path("<int:refund_pk>/reject/", views_approvals.refund_reject_view, name="refund-reject"),
    path("<int:refund_pk>/cancel/", views_approvals.refund_cancel_view, name="refund-cancel"),
    path("<int:refund_pk>/retry/", views_approvals.refund_retry_view, name="refund-retry"),
    path("returns/<int:return_pk>/restock/", views_approvals.return_restock_view, name="return-restock"),
    # Refund rates, alerts and thresholds (views_alerts.py).
    path("alerts/", views_alerts.alert_list_view, name="alert-list"),
    path("alerts/<int:alert_pk>/", views_alerts.alert_detail_view, name="alert-detail"),
    path("alerts/<int:alert_pk>/acknowledge/", views_alerts.alert_acknowledge_view, name="alert-acknowledge"),
    path("rates/", views_alerts.rate_list_view, name="rate-list"),
    path("rates/<int:product_pk>/", views_alerts.rate_detail_view, name="rate-detail"),
    path("thresholds/", views_alerts.threshold_list_view, name="threshold-list"),
    path("thresholds/new/", views_alerts.threshold_create_view, name="threshold-create"),
    path("thresholds/<int:threshold_pk>/", views_alerts.threshold_edit_view, name="threshold-edit"),
    path("thresholds/<int:threshold_pk>/delete/", views_alerts.threshold_delete_view, name="threshold-delete"),
]
