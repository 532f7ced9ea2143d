"""Console URLs of the classification rules (views_rules.py), under /app/refunds/rules/."""

from django.urls import URLPattern, path

from refunds import views_rules as views

urlpatterns: list[URLPattern] = [
    path("rules/", views.rule_list_view, name="rule-list"),
    path("rules/new/", views.rule_create_view, name="rule-create"),
    path("rules/rerun/", views.rule_rerun_view, name="rule-rerun"),
    path("rules/<int:rule_pk>/", views.rule_edit_view, name="rule-edit"),
    path("rules/<int:rule_pk>/delete/", views.rule_delete_view, name="rule-delete"),
    path("rules/<int:rule_pk>/move/", views.rule_move_view, name="rule-move"),
    path("rules/<int:rule_pk>/enabled/", views.rule_enabled_view, name="rule-enabled"),
]
