"""Console URLs of refunds: lists, detail and export (views.py), rules (views_rules.py), requests and
approvals (views_approvals.py). URL keywords for objects: refund_pk, return_pk, rule_pk."""

from refunds import urls_alerts, urls_approvals, urls_console, urls_rules

app_name = "refunds"

urlpatterns = [
    *urls_console.urlpatterns,
    *urls_rules.urlpatterns,
    *urls_approvals.urlpatterns,
    *urls_alerts.urlpatterns,
]
