"""Console URLs of the refunds lists, detail pages, tag overrides, review queue and export (refunds/views.py)."""

from django.urls import URLPattern, path, re_path

from refunds import views

urlpatterns: list[URLPattern] = [
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
]
