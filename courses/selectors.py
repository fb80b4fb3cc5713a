"""Reads that course pages, progress views and dashboards share.

Each selector runs a fixed number of queries whatever the size of the course: the tests in
tests/courses/test_selectors.py hold them to it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db.models import Max
from django.utils.translation import gettext as _
from wagtail.models import Page

if TYPE_CHECKING:
    from courses.models import CatalogPage, CoursePage, LessonPage, ModulePage

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


@dataclass(frozen=True)
class CatalogEntry:
    course: CoursePage
    languages: list[str]
    # False when this locale only has an alias of the source-language course.
    is_translated: bool


@dataclass(frozen=True)
class Catalog:
    entries: list[CatalogEntry]
    language: str
    topic: str


def catalog_for(*, catalog: CatalogPage, language: str = "", topic: str = "") -> Catalog:
    """The courses of one catalog, filtered by the languages they exist in and by topic."""
    from courses.models import CoursePage, Topic

    if language and language not in LANGUAGE_CODES:
        raise BadRequest(_("Unknown language: %(code)s") % {"code": language[:20]})
    if topic and topic not in Topic.values:
        raise BadRequest(_("Unknown topic: %(topic)s") % {"topic": topic[:40]})

    courses = CoursePage.objects.live().child_of(catalog).order_by("path")
    if topic:
        courses = courses.filter(topic=topic)
    courses_list = list(courses)
    available: dict[uuid.UUID, set[str]] = defaultdict(set)
    translated = CoursePage.objects.live().filter(
        translation_key__in=[course.translation_key for course in courses_list], alias_of__isnull=True
    )
    for key, code in translated.values_list("translation_key", "locale__language_code"):
        available[key].add(code)
    entries = [
        CatalogEntry(
            course=course,
            languages=[code for code in LANGUAGE_CODES if code in available[course.translation_key]],
            is_translated=course.alias_of_id is None,
        )
        for course in courses_list
        if not language or language in available[course.translation_key]
    ]
    return Catalog(entries=entries, language=language, topic=topic)


@dataclass
class OutlineLesson:
    page: LessonPage
    completed: bool


@dataclass
class OutlineModule:
    page: ModulePage
    lessons: list[OutlineLesson] = field(default_factory=list)


@dataclass
class CourseOutline:
    modules: list[OutlineModule]
    lesson_total: int
    lesson_done: int
    is_enrolled: bool
    is_completed: bool
    # The lesson to open next: where the learner left off, else the first lesson not done.
    next_lesson: LessonPage | None
    # For an enrolled learner: progress towards each condition of the completion rule, and the certificate.
    completion: Any = None
    certificate: Any = None

    @property
    def percent(self) -> int:
        return round(100 * self.lesson_done / self.lesson_total) if self.lesson_total else 0


def _course_lessons(course: CoursePage) -> list[LessonPage]:
    from courses.models import LessonPage

    return list(
        LessonPage.objects.live().descendant_of(course).order_by("path").defer_streamfields().select_related("locale")
    )


def _learner_state(user: Any, course_key: uuid.UUID) -> tuple[Any, set[uuid.UUID]]:
    from lms.progress.models import Enrollment, LessonCompletion

    if not user.is_authenticated:
        return None, set()
    enrollment = Enrollment.objects.filter(user=user, course_key=course_key).first()
    done = set(LessonCompletion.objects.filter(user=user, course_key=course_key).values_list("lesson_key", flat=True))
    return enrollment, done


def course_outline(*, course: CoursePage, user: Any) -> CourseOutline:
    from courses.models import ModulePage

    modules = [
        OutlineModule(page=module)
        for module in ModulePage.objects.live().child_of(course).order_by("path").select_related("locale")
    ]
    lessons = _course_lessons(course)
    enrollment, done = _learner_state(user, course.translation_key)
    completion = certificate = None
    if enrollment is not None:
        from lms.progress.selectors import certificate_for, course_completion

        completion = course_completion(course=course, user=user)
        certificate = certificate_for(user=user, course_key=course.translation_key)
    by_path = {module.page.path: module for module in modules}
    for lesson in lessons:
        module = by_path.get(lesson.path[: -Page.steplen])
        if module is not None:
            module.lessons.append(OutlineLesson(page=lesson, completed=lesson.translation_key in done))
    return CourseOutline(
        modules=modules,
        lesson_total=len(lessons),
        lesson_done=sum(1 for lesson in lessons if lesson.translation_key in done),
        is_enrolled=enrollment is not None,
        is_completed=bool(enrollment and enrollment.completed_at),
        next_lesson=_next_lesson(lessons, enrollment, done),
        completion=completion,
        certificate=certificate,
    )


def _next_lesson(lessons: list[LessonPage], enrollment: Any, done: set[uuid.UUID]) -> LessonPage | None:
    if enrollment is not None and enrollment.last_lesson_key:
        for lesson in lessons:
            if lesson.translation_key == enrollment.last_lesson_key:
                return lesson
    for lesson in lessons:
        if lesson.translation_key not in done:
            return lesson
    return lessons[0] if lessons else None


@dataclass
class LessonNavigation:
    course: CoursePage | None
    module: Page | None
    previous: LessonPage | None
    next: LessonPage | None
    position: int
    lesson_total: int
    completed: bool
    is_enrolled: bool
    course_percent: int


def course_for_lesson(*, lesson: LessonPage) -> CoursePage | None:
    from courses.models import CoursePage

    return CoursePage.objects.ancestor_of(lesson).first()


def lesson_count(*, course: CoursePage) -> int:
    from courses.models import LessonPage

    return LessonPage.objects.live().descendant_of(course).count()


def lesson_navigation(*, lesson: LessonPage, user: Any) -> LessonNavigation:
    course = course_for_lesson(lesson=lesson)
    if course is None:
        return LessonNavigation(None, None, None, None, 0, 0, False, False, 0)
    lessons = _course_lessons(course)
    keys = [item.translation_key for item in lessons]
    index = keys.index(lesson.translation_key) if lesson.translation_key in keys else 0
    enrollment, done = _learner_state(user, course.translation_key)
    return LessonNavigation(
        course=course,
        module=lesson.get_parent(),
        previous=lessons[index - 1] if index > 0 else None,
        next=lessons[index + 1] if index + 1 < len(lessons) else None,
        position=index + 1,
        lesson_total=len(lessons),
        completed=lesson.translation_key in done,
        is_enrolled=enrollment is not None,
        course_percent=round(100 * len(done & set(keys)) / len(keys)) if keys else 0,
    )


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    url: str
    is_current: bool
    # False when this language only shows the source-language text (an alias).
    is_translated: bool


def language_links(*, page: Page, current: str) -> list[LanguageLink]:
    """The same page in every language, in one query."""
    versions = {
        version.locale.language_code: version
        for version in Page.objects.live().filter(translation_key=page.translation_key).select_related("locale")
    }
    links = []
    for code, name in settings.LANGUAGES:
        version = versions.get(code)
        if version is None:
            continue
        links.append(
            LanguageLink(
                code=code,
                name=name,
                url=version.url or "",
                is_current=code == current,
                is_translated=version.alias_of_id is None,
            )
        )
    return links


@dataclass
class ExerciseCellView:
    kind: str  # "text", "code" (read-only) or "answer" (editable)
    html: str = ""
    code: str = ""
    key: str = ""
    starter: str = ""


@dataclass
class ExerciseView:
    exercise: Any
    cells: list[ExerciseCellView]
    attempts: list[Any]
    best_score: float | None
    title: str = ""
    instructions: Any = None
    #: The hints the learner has revealed, in order; ``hint_total`` counts them all.
    hints: list[Any] = field(default_factory=list)
    hint_total: int = 0
    lesson_id: int | None = None

    @property
    def next_hint(self) -> int | None:
        """The number (from 1) of the hint the learner can reveal next, if any."""
        return len(self.hints) + 1 if len(self.hints) < self.hint_total else None


def exercise_view(
    *,
    exercise: Any,
    user: Any,
    title: str = "",
    instructions: Any = None,
    hints: list[Any] | None = None,
    lesson: Any = None,
) -> ExerciseView:
    """What a learner sees of an exercise: the released notebook with their latest code, the hints
    they revealed and their own last attempts. At most four queries for a logged-in learner, none otherwise.

    ``title``, ``instructions`` and ``hints`` are the lesson block's, in the page's language. When
    the block has instructions, the notebook's own text cells (in the source language) are left out;
    otherwise they are shown in the page's language where translated (courses/exercise_texts.py, one
    more query).
    """
    from courses.blocks import highlight_code
    from courses.content_format import markdown_to_html
    from courses.exercises import answer_key, exercise_release
    from lms.progress.models import Submission
    from lms.progress.selectors import hints_revealed, latest_answers

    hints = hints or []
    release = exercise_release(exercise)
    texts = None
    if not instructions:
        from courses.exercise_texts import exercise_texts_for

        texts = exercise_texts_for(exercise=exercise, locale_id=getattr(lesson, "locale_id", None))
    translated_cells = iter(texts[1] if texts else [])
    logged_in = user is not None and user.is_authenticated
    latest = latest_answers(user=user, exercise=exercise) if logged_in else {}
    cells = []
    for cell in release["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        key = answer_key(cell)
        if cell["cell_type"] == "markdown" and not key:
            if not instructions:
                source = next(translated_cells, None) or source
                cells.append(ExerciseCellView(kind="text", html=safe_html(markdown_to_html(source))))
        elif key:
            cells.append(ExerciseCellView(kind="answer", code=latest.get(key, source), key=key, starter=source))
        elif source.strip():
            cells.append(ExerciseCellView(kind="code", html=highlight_code(source, "python")))
    attempts: list[Any] = []
    best = None
    revealed = 0
    if logged_in:
        mine = Submission.objects.filter(user=user, exercise=exercise, kind=Submission.Kind.SUBMIT)
        attempts = list(mine.order_by("-created_at")[:5])
        best = mine.aggregate(best=Max("score"))["best"]
        revealed = hints_revealed(user=user, exercise=exercise) if hints else 0
    return ExerciseView(
        exercise=exercise,
        cells=cells,
        attempts=attempts,
        best_score=best,
        title=title or (texts[0] if texts else "") or exercise.title,
        instructions=instructions or None,
        hints=hints[:revealed],
        hint_total=len(hints),
        lesson_id=getattr(lesson, "pk", None),
    )


# Instructions come from notebooks that may travel between deployments: keep formatting, drop the rest.
SAFE_TAGS = [
    "p",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
]


def safe_html(html: str) -> str:
    import bleach

    return bleach.clean(
        html, tags=SAFE_TAGS, attributes={"a": ["href", "title"]}, protocols=["http", "https"], strip=True
    )


# -- quizzes ----------------------------------------------------------------------------------

QUIZ_FLASH_SESSION_KEY = "quiz_flash"


@dataclass(frozen=True)
class QuizOptionView:
    index: int
    text: str
    checked: bool
    # Only for an option the learner chose in their last attempt: the author's word on it.
    feedback: str


@dataclass(frozen=True)
class QuizView:
    """What a quiz shows a learner. Correct flags, the expected number and the accepted texts are never
    part of it: only the verdict on the learner's own last answer is."""

    quiz_id: str
    kind: str
    points: int
    question: str
    options: list[QuizOptionView]
    value: str  # what the number or text field holds: the last answer, or the input just refused
    lesson_id: int | None
    can_answer: bool
    answered: bool
    correct: bool
    score: float | None
    best_score: float | None
    attempts: int
    explanation: str
    error: str

    @property
    def anchor(self) -> str:
        return f"quiz-{self.quiz_id}"


def _quiz_attempts_by_id(request: Any, page: Any) -> dict[str, list[Any]]:
    """The learner's attempts at every quiz of the page's course, newest first: one query per page, kept
    on the request so a lesson with many quizzes still costs one."""
    from lms.progress.models import QuizAttempt

    cache = request.__dict__.setdefault("_quiz_attempts", {})
    if page.pk not in cache:
        course = course_for_lesson(lesson=page)
        attempts: dict[str, list[Any]] = defaultdict(list)
        if course is not None:
            for attempt in QuizAttempt.objects.filter(user=request.user, course_key=course.translation_key).order_by(
                "-created_at", "-pk"
            ):
                attempts[attempt.quiz_id].append(attempt)
        cache[page.pk] = attempts
    return cache[page.pk]


def quiz_view(*, spec: dict[str, Any], page: Any, request: Any) -> QuizView:
    user = getattr(request, "user", None)
    # An admin preview of a page not saved yet has no id: it shows the quiz, not anyone's attempts.
    page = page if getattr(page, "pk", None) else None
    signed_in = bool(user is not None and user.is_authenticated)
    attempts = _quiz_attempts_by_id(request, page).get(spec["quiz_id"], []) if signed_in and page else []
    last = attempts[0] if attempts else None
    flash: dict[str, Any] = {}
    if signed_in and page is not None:
        # A refused answer comes back once, with the learner's input, after the redirect.
        stored = request.session.get(QUIZ_FLASH_SESSION_KEY) or {}
        flash = stored.pop(f"{page.pk}:{spec['quiz_id']}", None) or {}
        if flash:
            request.session[QUIZ_FLASH_SESSION_KEY] = stored
    if flash:
        shown = [str(item) for item in flash.get("input", [])]
    elif last is not None:
        shown = [str(item) for item in last.answer] if isinstance(last.answer, list) else [_plain(last.answer)]
    else:
        shown = []
    chosen = set(last.answer) if last is not None and isinstance(last.answer, list) else set()
    options = [
        QuizOptionView(
            index=index,
            text=option["text"],
            checked=str(index) in shown,
            feedback=option["feedback"] if index in chosen else "",
        )
        for index, option in enumerate(spec["options"])
    ]
    explanation = spec["explanation"]
    return QuizView(
        quiz_id=spec["quiz_id"],
        kind=spec["kind"],
        points=int(spec["points"]),
        question=_rich_text(spec["question"]),
        options=options,
        value=shown[0] if shown and spec["kind"] in ("numeric", "text") else "",
        lesson_id=getattr(page, "pk", None),
        can_answer=signed_in and page is not None,
        answered=last is not None,
        correct=bool(last and last.correct),
        score=last.score if last else None,
        best_score=max(attempt.score for attempt in attempts) if attempts else None,
        attempts=len(attempts),
        explanation=_rich_text(explanation) if last is not None and explanation else "",
        error=str(flash.get("error", "")),
    )


def _plain(number_or_text: Any) -> str:
    if isinstance(number_or_text, float) and number_or_text.is_integer():
        return str(int(number_or_text))
    return str(number_or_text)


def _rich_text(value: Any) -> str:
    from wagtail.rich_text import RichText

    if isinstance(value, RichText):
        return str(value.__html__())
    return str(RichText(value or "").__html__())


def quiz_in_lesson(*, lesson: LessonPage, quiz_id: str) -> dict[str, Any] | None:
    """The quiz with this id in the lesson's body, as courses.quizzes grades it."""
    from courses.blocks import quiz_spec

    for block in lesson.body:
        if block.block_type == "quiz" and block.value["quiz_id"] == quiz_id:
            return quiz_spec(block.value)


def lesson_hints(*, lesson: Any, exercise: Any) -> list[Any] | None:
    """The hints of ``exercise`` in ``lesson``'s exercise block (None if the lesson has no such block)."""
    for block in lesson.specific.body:
        if block.block_type == "exercise" and getattr(block.value.get("exercise"), "pk", None) == exercise.pk:
            return list(block.value.get("hints") or [])
    return None


def exercise_preview(*, exercise: Any) -> ExerciseView | None:
    """The admin preview: the exercise exactly as a learner who has not started it sees it.

    None for an exercise that has no saved notebook yet (an upload only arrives with a save).
    """
    if exercise.pk is None or not exercise.notebook:
        return None
    return exercise_view(exercise=exercise, user=None)
