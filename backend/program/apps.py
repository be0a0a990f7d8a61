from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "backend.program"
    label = "program"
    verbose_name = "IOP program"

    def ready(self) -> None:
        # The program's staff treat its patients: the gate lets them see the treatment
        # records of apps that cannot import this one (the questionnaires' answers).
        from backend.consent.policy import program_staff_register  # noqa: PLC0415
        from backend.program.access import treats_in_program  # noqa: PLC0415

        program_staff_register(treats_in_program)
