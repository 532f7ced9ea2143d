from django.urls import path

from acorn.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list_view, name="notification-list"),
    path("<int:notification_pk>/read/", views.notification_read_view, name="notification-read"),
    path("read-all/", views.notification_read_all_view, name="notification-read-all"),
]
