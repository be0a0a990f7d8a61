from django.urls import path

from backend.exchange import views

urlpatterns = [
    path(
        "Patient/<uuid:patient_id>/$everything",
        views.PatientEverythingView.as_view(),
        name="fhir-patient-everything",
    ),
]
