from django.urls import path

from acorn.tenancy import views

urlpatterns = [
    path("company/", views.company_view, name="company"),
    path("company/close/", views.tenant_close_view, name="tenant-close"),
    path("team/", views.team_view, name="team"),
    path("team/invite/", views.invitation_create_view, name="invitation-create"),
    path("team/invitations/<int:invitation_pk>/revoke/", views.invitation_revoke_view, name="invitation-revoke"),
    path("team/members/<int:membership_pk>/role/", views.membership_role_view, name="membership-role"),
    path("team/members/<int:membership_pk>/remove/", views.membership_remove_view, name="membership-remove"),
    path("plan/", views.plan_view, name="plan"),
    path("preferences/", views.notification_preferences_view, name="preferences"),
]

public_urlpatterns = [
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation-accept"),
]
