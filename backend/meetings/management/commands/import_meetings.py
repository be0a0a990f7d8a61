import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from backend.core.time import is_time_zone
from backend.meetings.importer import FeedImportError, import_feed
from backend.meetings.models import MeetingFeed


class Command(BaseCommand):
    help = (
        "Import a Meeting Guide or BMLT JSON feed from a file or an https URL: upsert by "
        "(feed, slug), telling meetings that share a slug apart by place and time, retire "
        "meetings that left it, and print a report. A feed that cannot be read changes "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="A file path or an https URL.")
        parser.add_argument("--feed", help="The feed's short name; registered if new.")
        parser.add_argument("--fellowship", help="AA, NA, Al-Anon, SMART... (new feeds).")
        parser.add_argument("--timezone", help="IANA zone for records that name none.")
        parser.add_argument(
            "--format",
            choices=[f.value for f in MeetingFeed.Format],
            help="meeting_guide (default) or bmlt.",
        )
        parser.add_argument(
            "--registered",
            action="store_true",
            help="Re-import every active registered feed from its URL instead.",
        )
        parser.add_argument(
            "--allow-http", action="store_true", help="Also read plain-http URLs (testing)."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Apply even a feed that would retire most (or all) of its meetings.",
        )

    def handle(self, *args, **options):
        if options["registered"]:
            feeds = list(MeetingFeed.objects.filter(active=True).exclude(url=""))
            failures = 0
            for feed in feeds:
                error = self._run(feed, None, options["allow_http"])
                if error:
                    failures += 1
                    self.stderr.write(error)
            if failures:
                raise CommandError(f"{failures} of {len(feeds)} feeds failed.")
            return
        if not options["source"] or not options["feed"]:
            raise CommandError("Give a SOURCE and --feed NAME (or --registered).")
        feed = self._feed(options)
        error = self._run(feed, options["source"], options["allow_http"], options["force"])
        if error:
            raise CommandError(error)

    def _feed(self, options) -> MeetingFeed:
        name = slugify(options["feed"])
        if not name:
            raise CommandError("--feed needs letters or digits.")
        zone = options["timezone"]
        if zone and not is_time_zone(zone):
            raise CommandError(f"Unknown time zone: {zone}")
        with transaction.atomic():
            feed = MeetingFeed.objects.select_for_update().filter(name=name).first()
            if feed is None:
                if not options["fellowship"] or not zone:
                    raise CommandError("A new feed needs --fellowship and --timezone.")
                return MeetingFeed.objects.create(
                    name=name,
                    fellowship=options["fellowship"].strip(),
                    time_zone=zone,
                    format=options["format"] or MeetingFeed.Format.MEETING_GUIDE,
                )
            changed = []
            for option, attr in (
                ("fellowship", "fellowship"),
                ("timezone", "time_zone"),
                ("format", "format"),
            ):
                if options[option] and getattr(feed, attr) != options[option]:
                    setattr(feed, attr, options[option].strip())
                    changed.append(attr)
            if changed:
                feed.save(update_fields=changed)
            return feed

    def _progress_line(self, name: str):
        """One line on stderr that the import rewrites as it goes (a line each off a terminal)."""
        started = time.monotonic()
        terminal = self.stderr.isatty()
        self._open_line = False

        def show(message: str) -> None:
            line = f"{name}: {message} ({time.monotonic() - started:.1f} s)"
            if terminal:
                self.stderr.write(f"\r\033[K{line}", ending="")
                self.stderr.flush()
                self._open_line = True
            else:
                self.stderr.write(line)

        return show

    def _end_progress(self) -> None:
        if getattr(self, "_open_line", False):
            self.stderr.write("")
            self._open_line = False

    def _run(
        self, feed: MeetingFeed, source: str | None, allow_http: bool, force: bool = False
    ) -> str | None:
        """Import one feed and print its report; the error, if it failed."""
        try:
            report = import_feed(
                feed,
                source=source,
                allow_http=allow_http,
                force=force,
                progress=self._progress_line(feed.name),
            )
        except FeedImportError as exc:
            self._end_progress()
            return f"{feed.name}: import failed: {exc} Nothing was changed."
        self._end_progress()
        self.stdout.write(
            f"{feed.name}: created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged}, retired {report.retired}, "
            f"rejected {len(report.rejected)}"
        )
        for rejected in report.rejected:
            self.stdout.write(f"  rejected {rejected['record']}: {rejected['reason']}")
        for warning, count in sorted(report.warnings.items()):
            self.stdout.write(f"  note: {warning} ({count})")
        return None
