"""Answering quizzes on a lesson page: a plain form, graded on the server, post-redirect-get."""

import pytest

from courses.models import LessonPage
from lms.progress.models import Enrollment, QuizAttempt
from tests.builders import make_course, quiz_fence

pytestmark = pytest.mark.django_db

TEXTS = {
    "en": ("Which is a supervised task?", "Predicting rain from labelled past days", "Grouping shops"),
    "ar": ("أيّ مهمة خاضعة للإشراف؟", "التنبؤ بالمطر من أيام سابقة موسومة", "تجميع المتاجر"),
}


def lesson_body(slug: str, code: str) -> str:
    question, right, wrong = TEXTS[code]
    return (
        quiz_fence(
            id="supervised",
            kind="single",
            points=2,
            question=question,
            options=[
                {"text": wrong, "feedback": f"SECRET-WRONG-FEEDBACK [{code}]"},
                {"text": right, "correct": True, "feedback": f"SECRET-RIGHT-FEEDBACK [{code}]"},
            ],
            explanation=f"SECRET-EXPLANATION [{code}]",
        )
        + quiz_fence(id="rate", kind="numeric", question="Error rate?", answer=0.25, tolerance=0.01)
        + quiz_fence(id="city", kind="text", question="Capital?", accept=["Nairobi" if code == "en" else "نيروبي"])
        + quiz_fence(
            id="many",
            kind="multiple",
            question="Pick the data",
            options=[{"text": "rainfall", "correct": True}, {"text": "yield", "correct": True}, {"text": "luck"}],
        )
    )


@pytest.fixture
def lesson(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, languages=("en", "ar"), extra_body=lesson_body)
    return LessonPage.objects.get(locale__language_code="en")


@pytest.fixture
def learner(django_user_model):
    return django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)


def answer(client, lesson, quiz_id, *values):
    return client.post(
        f"/{lesson.locale.language_code}/learning/lessons/{lesson.pk}/quizzes/{quiz_id}/", {"answer": list(values)}
    )


def test_the_page_never_carries_answers_before_the_learner_answers(client, lesson, learner):
    for html in (client.get(lesson.url).content.decode(), None):
        if html is None:
            client.force_login(learner)
            html = client.get(lesson.url).content.decode()
        assert "Which is a supervised task?" in html
        assert "SECRET" not in html  # neither per-option feedback nor the explanation
        assert "correct" not in html.lower().replace("correct.", "")  # no correct flag in any form
        assert "0.25" not in html and "Nairobi" not in html


def test_a_wrong_answer_shows_its_feedback_and_the_explanation_then_the_right_one_scores(client, lesson, learner):
    client.force_login(learner)
    response = answer(client, lesson, "supervised", "0")
    assert response.status_code == 302 and response["Location"] == f"{lesson.url}#quiz-supervised"
    html = client.get(lesson.url).content.decode()
    assert "Not quite." in html and "SECRET-WRONG-FEEDBACK [en]" in html and "SECRET-EXPLANATION [en]" in html
    assert "SECRET-RIGHT-FEEDBACK" not in html  # an option not chosen keeps its secret

    answer(client, lesson, "supervised", "1")
    html = client.get(lesson.url).content.decode()
    assert "Correct." in html and "SECRET-RIGHT-FEEDBACK [en]" in html
    assert "Score 2 of 2 · best 2 after 2 attempts" in html
    attempts = QuizAttempt.objects.filter(user=learner, quiz_id="supervised").order_by("pk")
    assert [(a.correct, a.score, a.answer) for a in attempts] == [(False, 0, [0]), (True, 2, [1])]
    assert Enrollment.objects.filter(user=learner).exists()  # answering enrolls, like completing a lesson


def test_the_best_attempt_stands_after_a_worse_one(client, lesson, learner):
    client.force_login(learner)
    answer(client, lesson, "rate", "0.25")
    answer(client, lesson, "rate", "7")
    html = client.get(lesson.url).content.decode()
    assert "Not quite." in html and "Score 0 of 1 · best 1 after 2 attempts" in html
    assert 'value="7"' in html  # the last answer stays in the field


def test_text_answers_are_graded_in_the_language_of_the_page(client, lesson, learner):
    client.force_login(learner)
    arabic = LessonPage.objects.get(locale__language_code="ar")
    answer(client, arabic, "city", "  نيروبي ")
    assert QuizAttempt.objects.get(user=learner, quiz_id="city").correct
    html = client.get(arabic.url).content.decode()
    assert "أيّ مهمة خاضعة للإشراف؟" in html and "SECRET-WRONG-FEEDBACK [ar]" not in html


def test_multiple_choice_needs_every_right_option(client, lesson, learner):
    client.force_login(learner)
    answer(client, lesson, "many", "0")
    answer(client, lesson, "many", "0", "1")
    assert list(QuizAttempt.objects.order_by("pk").values_list("correct", flat=True)) == [False, True]


@pytest.mark.parametrize(
    ("quiz_id", "values", "message"),
    [
        ("supervised", [], "Choose an answer first."),
        ("supervised", ["0", "1"], "Choose only one answer."),
        ("supervised", ["9"], "That choice is not one of this question"),
        ("rate", ["a quarter"], "Enter a number, for example 0.25."),
        ("city", ["x" * 300], "The answer is too long"),
    ],
)
def test_bad_input_gets_a_clear_error_in_the_quiz_and_records_nothing(
    client, lesson, learner, quiz_id, values, message
):
    client.force_login(learner)
    response = answer(client, lesson, quiz_id, *values)
    assert response.status_code == 302 and response["Location"].endswith(f"#quiz-{quiz_id}")
    html = client.get(lesson.url).content.decode()
    assert message in html.replace("&#x27;", "'")
    assert f'id="quiz-{quiz_id}-error"' in html
    assert not QuizAttempt.objects.exists()
    if quiz_id == "rate":
        assert 'value="a quarter"' in html  # what the learner typed is kept
    # The error is shown once: reloading the page shows the quiz as before.
    assert message not in client.get(lesson.url).content.decode().replace("&#x27;", "'")


def test_answering_needs_a_login_a_post_and_a_real_quiz(client, lesson, learner):
    url = f"/en/learning/lessons/{lesson.pk}/quizzes/supervised/"
    response = client.post(url, {"answer": "1"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(learner)
    assert client.get(url).status_code == 405
    assert client.post(f"/en/learning/lessons/{lesson.pk}/quizzes/no-such-quiz/", {"answer": "1"}).status_code == 404
    assert client.post("/en/learning/lessons/999999/quizzes/supervised/", {"answer": "1"}).status_code == 404
    assert not QuizAttempt.objects.exists()
