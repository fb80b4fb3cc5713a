"""Quizzes in lesson files: the rules the loader enforces, grading, and the admin's block validation."""

from pathlib import Path

import pytest
from wagtail.blocks import StructBlockValidationError

from courses.blocks import QuizBlock
from courses.content_format import ContentError, parse_lesson
from courses.content_loader import load_content
from courses.models import LessonPage
from courses.quizzes import QuizAnswerError, grade_quiz, normalise_text, parse_number
from tests.builders import quiz_fence, write_course

SINGLE = """```quiz
id: what-is-ml-1
kind: single
points: 2
question: "What does a model *learn* from?"
options:
  - text: "Examples"
    correct: true
    feedback: "Yes: data."
  - text: "Magic"
    feedback: "No."
explanation: "Models learn from **data**."
```
"""


def write(tmp_path: Path, body: str, name: str = "en.md") -> Path:
    path = tmp_path / name
    path.write_text(f'---\ntitle: "T"\n---\nIntro.\n\n{body}', encoding="utf-8")
    return path


def test_a_quiz_fence_becomes_a_quiz_block(tmp_path):
    lesson = parse_lesson(write(tmp_path, SINGLE), tmp_path)
    assert [block["type"] for block in lesson.blocks] == ["text", "quiz"]
    value = lesson.blocks[1]["value"]
    assert value["quiz_id"] == "what-is-ml-1" and value["kind"] == "single" and value["points"] == 2
    assert "<em>learn</em>" in value["question"] and "<strong>data</strong>" in value["explanation"]
    assert value["options"][0]["value"] == {"text": "Examples", "correct": True, "feedback": "Yes: data."}
    assert value["options"][1]["value"]["correct"] is False
    assert value["options"][0]["type"] == "item" and value["options"][0]["id"]  # Wagtail's list format
    assert lesson.quizzes[0].quiz_id == "what-is-ml-1" and lesson.quizzes[0].line == 6  # the fence's line


def quiz(**fields):
    base = {"id": "q1", "kind": "single", "question": "Q?"}
    return quiz_fence(**{**base, **fields})


TWO = [{"text": "a", "correct": True}, {"text": "b"}]


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        (quiz(kind="essay", options=TWO), "unknown kind 'essay'", 9),
        (quiz(options=[{"text": "a", "correct": True}]), "needs 2 to 8 options, not 1", 11),
        (quiz(options=[{"text": str(n), "correct": n == 0} for n in range(9)]), "not 9", 11),
        (quiz(options=[{"text": "a", "correct": True}, {"text": "b", "correct": True}]), "exactly one correct", 11),
        (quiz(options=[{"text": "a"}, {"text": "b"}]), "exactly one correct option, not 0", 11),
        (quiz(kind="multiple", options=[{"text": "a"}, {"text": "b"}]), "at least one correct", 11),
        (quiz(kind="numeric"), "needs an answer", 7),
        (quiz(kind="numeric", answer="four"), "answer must be a number", 11),
        (quiz(kind="numeric", answer=4, tolerance=-1), "tolerance cannot be negative", 12),
        (quiz(kind="text"), "non-empty accept list", 7),
        (quiz(kind="text", accept=[" "]), "non-empty accept list", 11),
        (quiz(id="Bad Id!", options=TWO), "id must be lowercase", 8),
        (quiz(options=TWO, points=0), "points must be a whole number", 15),
        (quiz(options=TWO, question=""), "question is missing", 10),
        (quiz(options=TWO, hint="x"), "unknown key 'hint'", 15),
        (quiz(options=[{"text": "a", "correct": "yes"}, {"text": "b"}]), "correct must be true or false", 11),
        ("```quiz\nid: q1\nkind: [single\n```\n", "quiz is not valid YAML", 8),
        ("```quiz\nid: q1\n", "quiz block is not closed", 6),
    ],
)
def test_bad_quizzes_are_refused_with_file_and_line(tmp_path, body, message, line):
    path = write(tmp_path, body)
    with pytest.raises(ContentError, match=message) as error:
        parse_lesson(path, tmp_path)
    assert f"{path}:{line}:" in str(error.value)


def lesson_quiz(code: str, **overrides) -> str:
    texts = {"en": "Capital of France?", "ar": "ما عاصمة فرنسا؟", "fr": "Capitale de la France ?"}
    fields = {
        "id": "capital",
        "kind": "single",
        "question": texts.get(code, "?"),
        "options": [{"text": f"Paris [{code}]", "correct": True}, {"text": f"Lyon [{code}]"}],
        **overrides,
    }
    return quiz_fence(**fields)


@pytest.mark.django_db
def test_each_language_keeps_its_text_and_shares_the_answers(tmp_path):
    write_course(tmp_path, modules=1, lessons_per_module=1, extra_body=lambda slug, code: lesson_quiz(code))
    load_content(tmp_path)
    ar = LessonPage.objects.get(locale__language_code="ar")
    block = next(block for block in ar.body if block.block_type == "quiz")
    assert "ما عاصمة فرنسا" in block.value["question"].source
    assert block.value["options"][0]["text"] == "Paris [ar]" and block.value["options"][0]["correct"]


@pytest.mark.parametrize(
    ("translated", "message"),
    [
        ({"points": 3}, "points differs from the source language"),
        ({"options": [{"text": "Paris", "correct": False}, {"text": "Lyon", "correct": True}]}, "correct differs"),
        ({"options": [{"text": "Paris", "correct": True}, {"text": "Lyon"}, {"text": "Nice"}]}, "options differs"),
        ({"kind": "multiple"}, "kind differs"),
        ({"id": "capitale"}, "the quizzes must be the same in every language"),
    ],
)
@pytest.mark.django_db
def test_a_translation_that_changes_more_than_texts_is_refused(tmp_path, translated, message):
    def body(slug, code):
        return lesson_quiz(code, **(translated if code == "fr" else {}))

    write_course(tmp_path, modules=1, lessons_per_module=1, extra_body=body)
    with pytest.raises(ContentError, match=message) as error:
        load_content(tmp_path)
    assert "fr.md:" in str(error.value)
    assert not LessonPage.objects.exists()  # the course loads whole or not at all


@pytest.mark.django_db
def test_quiz_ids_are_unique_in_a_course(tmp_path):
    write_course(tmp_path, modules=1, lessons_per_module=2, extra_body=lambda slug, code: lesson_quiz(code))
    with pytest.raises(ContentError, match="quiz id 'capital' is already used in this course") as error:
        load_content(tmp_path)
    assert "lesson-1-2/en.md:" in str(error.value) and "lesson-1-1/en.md:" in str(error.value)


@pytest.mark.django_db
def test_numeric_answers_differ_across_languages_is_refused(tmp_path):
    def body(slug, code):
        return quiz_fence(id="n", kind="numeric", question="?", answer=0.5 if code == "ar" else 0.25)

    write_course(tmp_path, modules=1, lessons_per_module=1, languages=("en", "ar"), extra_body=body)
    with pytest.raises(ContentError, match="answer differs"):
        load_content(tmp_path)


# -- grading ---------------------------------------------------------------------------------------

SPEC_SINGLE = {"kind": "single", "points": 2, "options": [{"correct": True}, {"correct": False}, {}]}
SPEC_MULTIPLE = {"kind": "multiple", "points": 1, "options": [{"correct": True}, {"correct": True}, {}]}
SPEC_NUMERIC = {"kind": "numeric", "points": 1, "answer": 0.25, "tolerance": 0.01}
SPEC_TEXT = {"kind": "text", "points": 1, "accept": ["Paris", "Ｓão  Tomé"]}


@pytest.mark.parametrize(
    ("spec", "raw", "correct"),
    [
        (SPEC_SINGLE, ["0"], True),
        (SPEC_SINGLE, ["1"], False),
        (SPEC_MULTIPLE, ["0", "1"], True),
        (SPEC_MULTIPLE, ["1", "0", "0"], True),
        (SPEC_MULTIPLE, ["0"], False),
        (SPEC_MULTIPLE, ["0", "1", "2"], False),
        (SPEC_NUMERIC, ["0.25"], True),
        (SPEC_NUMERIC, ["0,255"], True),
        (SPEC_NUMERIC, ["٠٫٢٤"], True),  # Arabic-Indic digits and decimal separator
        (SPEC_NUMERIC, [" 2.6e-1 "], True),
        (SPEC_NUMERIC, ["0.27"], False),
        (SPEC_TEXT, ["  paris "], True),
        (SPEC_TEXT, ["SÃO TOMÉ"], True),  # full-width letters and extra spaces in the accepted list
        (SPEC_TEXT, ["Lyon"], False),
    ],
)
def test_grading(spec, raw, correct):
    grade = grade_quiz(spec, raw)
    assert grade.correct is correct
    assert grade.score == (spec["points"] if correct else 0)
    assert grade.max_score == spec["points"]


def test_tolerance_edges_are_inclusive_and_float_safe():
    assert grade_quiz({"kind": "numeric", "answer": 0.3}, ["0.30000000000000004"]).correct
    assert grade_quiz({"kind": "numeric", "answer": 10, "tolerance": 0.5}, ["10.5"]).correct
    assert not grade_quiz({"kind": "numeric", "answer": 10, "tolerance": 0.5}, ["10.51"]).correct


@pytest.mark.parametrize(
    ("spec", "raw", "message"),
    [
        (SPEC_SINGLE, [], "Choose an answer first"),
        (SPEC_SINGLE, ["0", "1"], "Choose only one answer"),
        (SPEC_SINGLE, ["3"], "not one of this question's options"),
        (SPEC_SINGLE, ["-1"], "not one of this question's options"),
        (SPEC_SINGLE, ["١"], "not one of this question's options"),
        (SPEC_NUMERIC, ["a quarter"], "Enter a number"),
        (SPEC_NUMERIC, ["nan"], "Enter a number"),
        (SPEC_NUMERIC, ["inf"], "Enter a number"),
        (SPEC_NUMERIC, ["1,000.5,3"], "Enter a number"),
        (SPEC_NUMERIC, [""], "Type an answer first"),
        (SPEC_TEXT, ["x" * 201], "too long"),
        (SPEC_TEXT, ["a", "b"], "one answer only"),
    ],
)
def test_input_that_is_not_an_answer_is_refused_with_a_reason(spec, raw, message):
    with pytest.raises(QuizAnswerError, match=message):
        grade_quiz(spec, raw)


def test_normalisation():
    assert normalise_text("  Ｐａｒｉｓ\u3000 ") == "paris"
    assert normalise_text("STRASSE") == normalise_text("straße")
    assert parse_number("−3") == -3.0


# -- the admin ---------------------------------------------------------------------------------------


def admin_value(**overrides):
    block = QuizBlock()
    raw = {
        "quiz_id": "q1",
        "kind": "single",
        "points": 1,
        "question": "<p>Q?</p>",
        "options": [{"text": "a", "correct": True, "feedback": ""}, {"text": "b", "correct": False, "feedback": ""}],
        "answer": None,
        "tolerance": None,
        "accept": [],
        "explanation": "",
        **overrides,
    }
    return block, block.to_python(raw)


def test_the_admin_block_accepts_a_valid_quiz():
    block, value = admin_value()
    assert block.clean(value)["quiz_id"] == "q1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"options": [{"text": "a", "correct": True}, {"text": "b", "correct": True}]}, "exactly one correct"),
        ({"kind": "numeric", "options": []}, "needs an answer"),
        ({"kind": "text", "options": []}, "non-empty accept list"),
    ],
)
def test_the_admin_block_enforces_the_same_rules_as_files(overrides, message):
    block, value = admin_value(**overrides)
    with pytest.raises(StructBlockValidationError) as error:
        block.clean(value)
    messages = [str(item) for item in error.value.non_block_errors.as_data()] + [
        str(item) for item in error.value.block_errors.values()
    ]
    assert any(message in item for item in messages), messages


@pytest.mark.django_db
def test_translators_see_only_the_texts_of_a_quiz(tmp_path):
    """wagtail-localize offers texts for translation; ids, flags and numbers stay synchronised."""
    from wagtail_localize.segments.extract import extract_segments

    def body(slug, code):
        return lesson_quiz(code) + quiz_fence(
            id="rate", kind="numeric", question="Rate?", answer=0.25, tolerance=0.01, explanation="Because."
        )

    write_course(tmp_path, modules=1, lessons_per_module=1, languages=("en",), extra_body=body)
    load_content(tmp_path)
    lesson = LessonPage.objects.get(locale__language_code="en")
    segments = extract_segments(lesson)
    texts = {getattr(segment, "string", None) and segment.string.data for segment in segments}
    assert {"Paris [en]", "Lyon [en]", "Because."} <= texts
    paths = [segment.path for segment in segments]
    assert not any(path.endswith((".quiz_id", ".answer", ".tolerance", ".points", ".correct")) for path in paths)


@pytest.mark.django_db
def test_instructors_edit_quizzes_and_the_completion_rule_in_the_admin(client, tmp_path, django_user_model):
    from allauth.mfa.models import Authenticator
    from django.urls import reverse

    from courses.models import CoursePage
    from lms.accounts import services
    from lms.accounts.models import Role

    write_course(tmp_path, modules=1, lessons_per_module=1, languages=("en",), extra_body=lambda s, c: lesson_quiz(c))
    load_content(tmp_path)
    user = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    services.profile_create(user=user, country="SN")
    services.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    lesson = LessonPage.objects.get(locale__language_code="en")
    html = client.get(reverse("wagtailadmin_pages:edit", args=[lesson.pk])).content.decode()
    assert "capital" in html and "Paris [en]" in html  # the quiz block, filled in, in the editor
    course = CoursePage.objects.get(locale__language_code="en")
    html = client.get(reverse("wagtailadmin_pages:edit", args=[course.pk])).content.decode()
    assert 'name="completion_quiz_points_percent"' in html and 'name="completion_exercise_points_percent"' in html


def _admin_quiz_post(options):
    from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

    def listing(items):
        data = {str(n): {"value": item, "deleted": "", "order": str(n), "id": ""} for n, item in enumerate(items)}
        return {**data, "count": str(len(items))}

    quiz = {
        "quiz_id": "from-admin",
        "kind": "single",
        "points": "2",
        "question": rich_text("<p>Made in the admin?</p>"),
        "options": listing(
            [{"text": text, "correct": "on" if correct else "", "feedback": ""} for text, correct in options]
        ),
        "answer": "",
        "tolerance": "",
        "accept": listing([]),
        "explanation": rich_text(""),
    }
    return nested_form_data(
        {"title": "Edited", "slug": "lesson-1-1", "summary": "", "minutes": "5", "body": streamfield([("quiz", quiz)])}
    )


@pytest.mark.django_db
def test_a_quiz_saved_in_the_admin_follows_the_rules(client, tmp_path, django_user_model):
    from allauth.mfa.models import Authenticator
    from django.urls import reverse

    from lms.accounts import services
    from lms.accounts.models import Role

    write_course(tmp_path, modules=1, lessons_per_module=1, languages=("en",))
    load_content(tmp_path)
    user = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    services.profile_create(user=user, country="SN")
    services.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    lesson = LessonPage.objects.get(locale__language_code="en")
    url = reverse("wagtailadmin_pages:edit", args=[lesson.pk])

    refused = client.post(url, _admin_quiz_post([("Yes", True), ("Also yes", True)]))
    assert refused.status_code == 200
    assert "single choice needs exactly one correct option, not 2" in refused.content.decode()
    assert LessonPage.objects.get(pk=lesson.pk).title != "Edited"

    saved = client.post(url, _admin_quiz_post([("Yes", True), ("No", False)]))
    assert saved.status_code == 302
    draft = LessonPage.objects.get(pk=lesson.pk).get_latest_revision_as_object()
    quiz = next(block for block in draft.body if block.block_type == "quiz")
    assert quiz.value["quiz_id"] == "from-admin" and [o["correct"] for o in quiz.value["options"]] == [True, False]
