"""Synthetic learners and activity for demonstrations and benchmarks (`manage.py simulate_activity`).

Rows are written in bulk: bulk_create everywhere, and COPY on PostgreSQL, with ids assigned here so
that the tables can be filled without reading anything back. Everything is reproducible from the seed.
"""

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.utils import timezone

from courses.models import CoursePage, Exercise, ExerciseFormat, LessonPage
from lms.accounts.models import AgeBand, Gender, Profile, Role
from lms.accounts.services import training_centre_create
from lms.insights.selectors import exercise_courses
from lms.progress.models import Certificate, Enrollment, LessonCompletion, Submission

# Country, weight, the language most learners there read. Mostly the network's developing countries.
COUNTRY_MIX = (
    ("NG", 9, "en"), ("KE", 7, "en"), ("IN", 9, "en"), ("BD", 5, "en"), ("PK", 5, "en"), ("EG", 6, "ar"),
    ("MA", 4, "fr"), ("SN", 3, "fr"), ("CI", 3, "fr"), ("CD", 3, "fr"), ("RW", 3, "en"), ("ET", 4, "en"),
    ("GH", 3, "en"), ("TZ", 3, "en"), ("UG", 2, "en"), ("JO", 2, "ar"), ("LB", 1, "ar"), ("YE", 1, "ar"),
    ("TN", 2, "fr"), ("DZ", 2, "ar"), ("SD", 1, "ar"), ("ID", 5, "en"), ("VN", 3, "en"), ("PH", 4, "en"),
    ("KH", 1, "en"), ("NP", 2, "en"), ("AF", 1, "en"), ("KZ", 2, "ru"), ("UZ", 2, "ru"), ("KG", 1, "ru"),
    ("TJ", 1, "ru"), ("BR", 3, "es"), ("MX", 3, "es"), ("CO", 2, "es"), ("PE", 2, "es"), ("BO", 1, "es"),
    ("HT", 1, "fr"), ("GT", 1, "es"), ("CN", 2, "zh-hans"), ("FJ", 1, "en"), ("PG", 1, "en"), ("WS", 1, "en"),
    ("JM", 1, "en"), ("MV", 1, "en"), ("BT", 1, "en"), ("MN", 1, "ru"), ("ZM", 1, "en"), ("MW", 1, "en"),
)  # fmt: skip
CITIES = ("Capital", "Second City", "Coast")
NO_COUNTRY_SHARE = 0.03
CONSENT_SHARE = 0.4
PERIOD_DAYS = 540
EXERCISE_TRY_SHARE = 0.8  # of a course's exercises, the share an enrolled learner attempts
CERTIFICATE_SHARE = 0.85  # of completions: the rest have not claimed their certificate yet
REVOKED_SHARE = 0.02


@dataclass
class SimulationReport:
    learners: int
    enrollments: int
    lesson_completions: int
    submissions: int
    certificates: int

    @property
    def activity_rows(self) -> int:
        """Enrolments, lesson completions and submissions: the rows learners' work leaves behind."""
        return self.enrollments + self.lesson_completions + self.submissions


def _course_plan() -> list[tuple[str, list[str]]]:
    """(course key, lesson keys) for every course, loading the shipped content if there is none."""
    if not CoursePage.objects.exists():
        from courses.content_loader import load_content

        load_content(Path(settings.BASE_DIR) / "content")
    plan = []
    for course in CoursePage.objects.filter(locale__language_code="en", alias_of__isnull=True):
        lessons = list(LessonPage.objects.descendant_of(course).values_list("translation_key", flat=True))
        plan.append((str(course.translation_key), [str(key) for key in lessons]))
    if not plan:
        raise RuntimeError("No course to simulate activity in.")
    return plan


def _exercises(plan: list[tuple[str, list[str]]]) -> dict[str, list[int]]:
    """Course key -> the exercises its lessons embed. A course without any gets the simulated exercises
    (created here if needed, embedded in no lesson), so its submissions count in the totals but in no
    course's average."""
    embedded: dict[str, list[int]] = {}
    for exercise, course_keys in sorted(exercise_courses().items()):
        for course_key in course_keys:
            embedded.setdefault(course_key, []).append(exercise)
    if all(course_key in embedded for course_key, _lessons in plan):
        return embedded
    loose = []
    for n in range(1, 4):
        exercise, _created = Exercise.objects.get_or_create(
            slug=f"simulated-exercise-{n}",
            defaults={
                "title": f"Simulated exercise {n}",
                "notebook": {},
                "format": ExerciseFormat.NATIVE,
                "max_score": 10,
            },
        )
        loose.append(exercise.pk)
    return {course_key: embedded.get(course_key, loose) for course_key, _lessons in plan}


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1


def _copy(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """PostgreSQL COPY of plain tuples; None becomes NULL."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
        )


def _write(model: type[models.Model], columns: Sequence[str], rows: list[tuple]) -> None:
    if connection.vendor == "postgresql":
        _copy(model, columns, rows)
        return
    attnames = [model._meta.get_field(c[:-3] if c.endswith("_id") and c != "id" else c).attname for c in columns]
    objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
    model.objects.bulk_create(objects, batch_size=2000)


def _later(rng: random.Random, after: datetime, now: datetime, share: float) -> datetime:
    """A moment between `after` and `now`, at most `share` of the way."""
    return after + timedelta(seconds=max(0.0, (now - after).total_seconds()) * rng.random() * share)


def _json_fields(row: tuple) -> tuple:
    # COPY takes JSON as text; the ORM wants Python objects for the notebook and feedback columns.
    return (*row[:5], {}, *row[6:9], {}, *row[10:])


def activity_simulate(
    *, learners: int, seed: int, now: datetime | None = None, days: int = PERIOD_DAYS
) -> SimulationReport:
    """Create `learners` synthetic learners with enrollments, lesson completions, submissions (checks
    and graded submits) and certificates for most completions."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    now = now or timezone.now()
    plan = _course_plan()
    exercises = _exercises(plan)
    titles = {
        str(key): title
        for key, title in CoursePage.objects.filter(locale__language_code="en").values_list("translation_key", "title")
    }
    centres: dict[str, list[int]] = {}
    for code, _weight, _language in COUNTRY_MIX:
        centres[code] = [
            training_centre_create(name=f"{code} AI Training Centre {i + 1}", country=code, city=CITIES[i]).pk
            for i in range(rng.randint(1, 3))
        ]
    codes = [code for code, _w, _l in COUNTRY_MIX]
    weights = [weight for _c, weight, _l in COUNTRY_MIX]
    home_language = {code: language for code, _w, language in COUNTRY_MIX}
    languages = [code for code, _name in settings.LANGUAGES]
    genders, ages = Gender.values, AgeBand.values
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()

    user_id, profile_id = _next_id(User), _next_id(Profile)
    enrollment_id, completion_id, submission_id = _next_id(Enrollment), _next_id(LessonCompletion), _next_id(Submission)
    certificate_id = _next_id(Certificate)
    users, profiles, enrollments, completions, submissions, certificates = [], [], [], [], [], []
    prefix = f"sim{seed}-{user_id}"
    for n in range(learners):
        uid = user_id + n
        joined = start + timedelta(seconds=span * rng.random() ** 0.7)  # more people joined recently
        users.append((uid, "!", f"{prefix}-{n}", f"{prefix}-{n}@example.invalid", "", "", False, False, True, joined))
        country = "" if rng.random() < NO_COUNTRY_SHARE else rng.choices(codes, weights)[0]
        language = home_language.get(country, "en") if rng.random() < 0.8 else rng.choice(languages)
        centre = rng.choice(centres[country]) if country and rng.random() < 0.8 else None
        consent = rng.random() < CONSENT_SHARE
        gender = rng.choices(genders, (48, 50, 2))[0] if consent and rng.random() < 0.95 else ""
        age = rng.choices(ages, (3, 35, 35, 18, 7, 2))[0] if consent and rng.random() < 0.95 else ""
        profiles.append(
            (
                profile_id + n,
                uid,
                "",
                country,
                language,
                centre,
                Role.LEARNER,
                "",
                consent,
                joined if consent else None,
                gender,
                age,
                joined,
            )
        )
        for course_key, lessons in rng.sample(plan, k=min(len(plan), rng.choice((1, 1, 1, 2, 3)))):
            enrolled = _later(rng, joined, now, 0.3)
            done = rng.randint(0, len(lessons))
            last = enrolled
            for lesson_key in lessons[:done]:
                last = _later(rng, last, now, 0.4)
                completions.append((completion_id, uid, course_key, lesson_key, last))
                completion_id += 1
            completed_at = last if lessons and done == len(lessons) else None
            visited = _later(rng, last, now, 0.2)
            enrollments.append(
                (enrollment_id, uid, course_key, enrolled, lessons[0] if lessons else None, visited, completed_at)
            )
            enrollment_id += 1
            if completed_at is not None and rng.random() < CERTIFICATE_SHARE:
                issued = _later(rng, completed_at, now, 0.05)
                revoked = _later(rng, issued, now, 1.0) if rng.random() < REVOKED_SHARE else None
                certificates.append(
                    (
                        certificate_id,
                        uid,
                        course_key,
                        f"SIM{certificate_id:010d}",
                        f"Learner {uid}",
                        titles.get(course_key, "Course"),
                        language,
                        issued,
                        revoked,
                    )
                )
                certificate_id += 1
            # Per exercise tried: a few checks (visible tests) then one or two graded submits.
            skill = rng.betavariate(5, 2)
            for exercise in exercises[course_key]:
                if rng.random() >= EXERCISE_TRY_SHARE:
                    continue
                at = _later(rng, enrolled, now, 0.5)
                for kind in ["check"] * rng.randint(0, 4) + ["submit"] * rng.choice((1, 1, 2)):
                    at = _later(rng, at, now, 0.05)
                    score = round(min(1.0, skill + rng.uniform(-0.2, 0.2)) * 10, 1)
                    submissions.append(
                        (submission_id, uid, exercise, kind, "graded", "{}", "graded", max(0.0, score), 10.0,
                         "{}", "", 1, at, at, at, at)
                    )  # fmt: skip
                    submission_id += 1
    with transaction.atomic():
        user_columns = (
            "id",
            "password",
            "username",
            "email",
            "first_name",
            "last_name",
            "is_staff",
            "is_superuser",
            "is_active",
            "date_joined",
        )
        _write(User, user_columns, users)
        _write(
            Profile,
            ("id", "user_id", "display_name", "country", "preferred_language", "centre_id", "role", "analyst_countries",
             "consents_to_statistics", "consent_updated_at", "gender", "age_band", "created_at"),
            profiles,
        )  # fmt: skip
        _write(
            Enrollment,
            ("id", "user_id", "course_key", "enrolled_at", "last_lesson_key", "last_visited_at", "completed_at"),
            enrollments,
        )
        _write(LessonCompletion, ("id", "user_id", "course_key", "lesson_key", "completed_at"), completions)
        created_at = Submission._meta.get_field("created_at")
        created_at.auto_now_add = False  # keep the simulated history's timestamps
        try:
            _write(
                Submission,
                ("id", "user_id", "exercise_id", "kind", "status", "notebook", "verdict", "score", "max_score",
                 "feedback", "error", "deliveries", "created_at", "queued_at", "started_at", "finished_at"),
                submissions if connection.vendor == "postgresql" else [_json_fields(row) for row in submissions],
            )  # fmt: skip
        finally:
            created_at.auto_now_add = True
        _write(
            Certificate,
            ("id", "user_id", "course_key", "code", "learner_name", "course_title", "language", "issued_at",
             "revoked_at"),
            certificates,
        )  # fmt: skip
    return SimulationReport(len(users), len(enrollments), len(completions), len(submissions), len(certificates))
