from django.urls import path

from backend.homework import views

urlpatterns = [
    path("", views.HomeworkListCreateView.as_view(), name="homework"),
    path("templates/", views.TemplateListView.as_view(), name="homework-templates"),
    path("review-queue/", views.ReviewQueueView.as_view(), name="homework-review-queue"),
    path("<uuid:homework_id>/", views.HomeworkDetailView.as_view(), name="homework-detail"),
    path("<uuid:homework_id>/answers/", views.AnswersView.as_view(), name="homework-answers"),
    path("<uuid:homework_id>/submit/", views.SubmitView.as_view(), name="homework-submit"),
    path("<uuid:homework_id>/review/", views.ReviewView.as_view(), name="homework-review"),
]
