"""Course pages. Declarations only: what a page holds and where it may live.

Reads shared by pages and views are in courses/selectors.py; the content loader in
courses/content_loader.py.
"""

from typing import Any

from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MaxValueValidator
from django.db import models
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import DraftStateMixin, Page, PreviewableMixin, RevisionMixin
from wagtail.search import index

from courses import page_cache, selectors
from courses.blocks import RICH_TEXT_FEATURES, LessonStreamBlock


class Topic(models.TextChoices):
    AI_FOUNDATIONS = "ai-foundations", _("AI foundations")
    MACHINE_LEARNING = "machine-learning", _("Machine learning")
    DATA = "data", _("Data")
    GOVERNANCE = "governance", _("AI governance")


class Level(models.TextChoices):
    BEGINNER = "beginner", _("Beginner")
    INTERMEDIATE = "intermediate", _("Intermediate")
    ADVANCED = "advanced", _("Advanced")


class Licence(models.TextChoices):
    """Open licences a course can be shared under, by SPDX identifier (course packages carry it)."""

    CC_BY_4_0 = "CC-BY-4.0", "CC BY 4.0"
    CC_BY_SA_4_0 = "CC-BY-SA-4.0", "CC BY-SA 4.0"
    CC_BY_NC_4_0 = "CC-BY-NC-4.0", "CC BY-NC 4.0"
    CC_BY_NC_SA_4_0 = "CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0"
    CC0_1_0 = "CC0-1.0", "CC0 1.0"


LICENCE_URLS = {
    Licence.CC_BY_4_0: "https://creativecommons.org/licenses/by/4.0/",
    Licence.CC_BY_SA_4_0: "https://creativecommons.org/licenses/by-sa/4.0/",
    Licence.CC_BY_NC_4_0: "https://creativecommons.org/licenses/by-nc/4.0/",
    Licence.CC_BY_NC_SA_4_0: "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    Licence.CC0_1_0: "https://creativecommons.org/publicdomain/zero/1.0/",
}


class ContentSourceMixin(models.Model):
    """Pages built from files in content/ remember a hash of their source, so reloading is idempotent.

    Anonymous visitors are served from courses.page_cache.
    """

    content_source_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return page_cache.mark_cacheable(request, super().serve(request, *args, **kwargs))


class CatalogPage(ContentSourceMixin, Page):
    """The course catalog: the home page of each language's site tree."""

    intro = RichTextField(features=RICH_TEXT_FEATURES, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["courses.CoursePage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("course catalog")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        context["catalog"] = selectors.catalog_for(
            catalog=self, language=request.GET.get("language", ""), topic=request.GET.get("topic", "")
        )
        context["topics"] = Topic.choices
        return context


class CoursePage(ContentSourceMixin, Page):
    summary = models.TextField(_("summary"), max_length=600)
    objectives = RichTextField(_("learning objectives"), features=["ul", "bold", "italic"], blank=True)
    topic = models.CharField(_("topic"), max_length=30, choices=Topic.choices, default=Topic.AI_FOUNDATIONS)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices, default=Level.BEGINNER)
    duration_hours = models.PositiveSmallIntegerField(_("duration in hours"), default=1)
    completion_lessons_percent = models.PositiveSmallIntegerField(
        _("lessons to complete (%)"),
        default=100,
        validators=[MaxValueValidator(100)],
        help_text=_("Share of the course's lessons a learner must complete for the course to count as completed."),
    )
    completion_exercise_points_percent = models.PositiveSmallIntegerField(
        _("exercise points to earn (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Share of the course's exercise points (best score per exercise). Empty: no condition."),
    )
    completion_quiz_points_percent = models.PositiveSmallIntegerField(
        _("quiz points to earn (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Share of the course's quiz points (best attempt per quiz). Empty: no condition."),
    )
    # Course packages (courses/packaging) carry these two, so a centre that imports a course knows
    # what it may do with it and whom to credit.
    licence = models.CharField(_("licence"), max_length=30, choices=Licence.choices, default=Licence.CC_BY_4_0)
    authors = models.CharField(
        _("authors"), max_length=300, blank=True, help_text=_("Credited as the licence asks: people or centres.")
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("objectives"),
        MultiFieldPanel([FieldPanel("topic"), FieldPanel("level"), FieldPanel("duration_hours")], heading=_("Catalog")),
        MultiFieldPanel(
            [
                FieldPanel("completion_lessons_percent"),
                FieldPanel("completion_exercise_points_percent"),
                FieldPanel("completion_quiz_points_percent"),
            ],
            heading=_("Completion rule: all conditions must hold"),
        ),
        MultiFieldPanel([FieldPanel("licence"), FieldPanel("authors")], heading=_("Sharing")),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    parent_page_types = ["courses.CatalogPage"]
    subpage_types = ["courses.ModulePage"]

    class Meta:
        verbose_name = _("course")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        context["outline"] = selectors.course_outline(course=self, user=request.user)
        context["licence_url"] = LICENCE_URLS.get(self.licence, "")
        return context


class ModulePage(ContentSourceMixin, Page):
    summary = models.TextField(_("summary"), max_length=600, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("summary")]
    parent_page_types = ["courses.CoursePage"]
    subpage_types = ["courses.LessonPage"]

    class Meta:
        verbose_name = _("module")

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # A module is a heading in its course's outline; its own URL leads there.
        return redirect(self.get_parent().url + f"#module-{self.translation_key}")


class LessonPage(ContentSourceMixin, Page):
    summary = models.TextField(_("summary"), max_length=600, blank=True)
    minutes = models.PositiveSmallIntegerField(_("minutes to read"), default=10)
    body = StreamField(LessonStreamBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("minutes"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]
    parent_page_types = ["courses.ModulePage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("lesson")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        context["lesson_nav"] = selectors.lesson_navigation(lesson=self, user=request.user)
        return context

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.user.is_authenticated:
            # Remember where the learner is, for "continue where you left off".
            from lms.progress.services import lesson_visit_record

            lesson_visit_record(user=request.user, lesson=self)
        return super().serve(request, *args, **kwargs)


class ExerciseFormat(models.TextChoices):
    NATIVE = "native", _("OpenCapacity")
    NBGRADER = "nbgrader", "nbgrader"
    OTTER = "otter", "Otter-Grader"


class Exercise(DraftStateMixin, RevisionMixin, PreviewableMixin, models.Model):
    """A graded notebook exercise: the instructor's notebook, in any supported dialect.

    The notebook holds solutions and hidden tests, so it never leaves the server; learners get the
    release made by `sandbox.release`. The row is the live version learners get; an uploaded
    notebook is a draft revision until its self-check passes and it is published
    (courses/exercise_checks.py, docs/authoring.md).
    """

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    notebook = models.JSONField(_("instructor notebook"))
    format = models.CharField(_("format"), max_length=20, choices=ExerciseFormat.choices)
    max_score = models.FloatField(_("maximum score"))
    # For exercises loaded from content/ files: a hash of the notebook file, so reloading is idempotent.
    content_source_hash = models.CharField(max_length=64, blank=True, editable=False)
    # The language the notebook's text cells are written in, which its ExerciseText in that language
    # is made from (courses/exercise_texts.py). Empty: the site's default language. Set by course
    # package import, whose exercises come in their course's language whatever this site's default.
    notebook_locale = models.ForeignKey(
        "wagtailcore.Locale",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("notebook language"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    _revisions = GenericRelation("wagtailcore.Revision", related_query_name="exercise")

    panels = [FieldPanel("title"), FieldPanel("slug")]

    class Meta:
        verbose_name = _("exercise")
        verbose_name_plural = _("exercises")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def revisions(self) -> Any:
        return self._revisions

    def publish(self, revision: Any, *args: Any, **kwargs: Any) -> Any:
        # Every publish path (edit view, revisions, scheduled publishing) passes here.
        from courses.exercise_checks import ExerciseNotChecked, exercise_publish_refusal

        refusal = exercise_publish_refusal(exercise=revision.as_object())
        if refusal:
            raise ExerciseNotChecked(refusal)
        return super().publish(revision, *args, **kwargs)

    def get_preview_template(self, request: HttpRequest, mode_name: str) -> str:
        return "courses/exercise_preview.html"

    def get_preview_context(self, request: HttpRequest, mode_name: str) -> dict[str, Any]:
        context = super().get_preview_context(request, mode_name)
        context["view"] = selectors.exercise_preview(exercise=self)
        return context


class ExerciseCheckStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for the sandbox")
    RUNNING = "running", _("Checking in the sandbox")
    PASSED = "passed", _("Check passed")
    FAILED = "failed", _("Check failed")
    ERROR = "error", _("Could not be checked")


class ExerciseCheck(models.Model):
    """The self-check of one version of an exercise's notebook, identified by its hash.

    Kept apart from Exercise so that publishing a revision, which copies the revision's fields onto
    the row, can never overwrite a newer check result.
    """

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="checks")
    notebook_hash = models.CharField(max_length=64)
    notebook = models.JSONField()
    format = models.CharField(max_length=20, choices=ExerciseFormat.choices)
    #: The exercise's datasets this version is checked with: sorted [file name, SHA-256] pairs.
    datasets = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=ExerciseCheckStatus.choices, default=ExerciseCheckStatus.QUEUED)
    #: What failed (sandbox.exercise_check.Problem), where, and the engine's words.
    problem = models.CharField(max_length=30, blank=True)
    cell = models.IntegerField(null=True, blank=True)
    test = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    #: How it passed: "sandbox", or "content tests" for notebooks shipped in content/ (tests/content).
    checked_by = models.CharField(max_length=30, blank=True)
    #: Publish this version as soon as it passes, without an instructor clicking publish (course
    #: package import, docs/course-packages.md). Publishing still goes through Exercise.publish.
    publish_when_passed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("exercise check")
        constraints = [
            models.UniqueConstraint(fields=["exercise", "notebook_hash"], name="one_check_per_notebook_version")
        ]

    def __str__(self) -> str:
        return f"{self.exercise_id}:{self.notebook_hash[:12]} {self.status}"


class DatasetFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class Dataset(models.Model):
    """A data file that exercises read, inside the sandbox, at ``/data/<file_name>`` (read-only).

    Shared rather than owned by a course, as exercises are: one dataset may serve exercises of
    several courses and languages, and its bytes are stored once. They are kept content-addressed
    under ``settings.DATASETS_DIR`` (courses/datasets.py) and never served over HTTP: licences
    vary, and learners read the data only inside the sandbox.
    """

    file_name = models.CharField(
        _("file name"), max_length=100, help_text=_("Learners open the file as /data/<file name>.")
    )
    format = models.CharField(_("format"), max_length=10, choices=DatasetFormat.choices, editable=False)
    size = models.PositiveBigIntegerField(_("size in bytes"), editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False, db_index=True)
    source = models.TextField(_("source"), help_text=_("Where the data comes from: a URL or a full citation."))
    licence = models.CharField(
        _("licence"), max_length=200, help_text=_("The licence the data is published under, e.g. CC BY 4.0.")
    )
    description = models.TextField(_("description"), blank=True)
    exercises = models.ManyToManyField(Exercise, related_name="datasets", blank=True, verbose_name=_("exercises"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dataset")
        ordering = ["file_name", "pk"]

    def __str__(self) -> str:
        return self.file_name


# An exercise's translatable texts live in their own module (the notebook's cells per language).
from courses.exercise_texts import ExerciseText  # noqa: E402, F401
