from django.urls import path

from . import views

app_name = "establishments"
urlpatterns = [
    path("", views.my_establishments, name="mine"),
]
