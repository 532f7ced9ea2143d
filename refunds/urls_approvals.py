"""Console URLs of refund requests, approvals, the approval policy and restocking (views_approvals.py)."""

from django.urls import URLPattern, path

from refunds import views_approvals as views

urlpatterns: list[URLPattern] = [
    path("orders/<int:order_pk>/request/", views.refund_request_view, name="refund-request"),
    path("approvals/", views.approval_queue_view, name="approval-queue"),
    path("approvals/policy/", views.approval_policy_view, name="approval-policy"),
    path("<int:refund_pk>/approve/", views.refund_approve_view, name="refund-approve"),
    path("<int:refund_pk>/reject/", views.refund_reject_view, name="refund-reject"),
    path("<int:refund_pk>/cancel/", views.refund_cancel_view, name="refund-cancel"),
    path("<int:refund_pk>/retry/", views.refund_retry_view, name="refund-retry"),
    path("returns/<int:return_pk>/restock/", views.return_restock_view, name="return-restock"),
]
