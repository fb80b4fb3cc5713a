"""Course completion rules (course.yaml `completion:`): lessons, exercise points and quiz points, checked
whenever one of them changes, completing the enrollment and issuing one certificate."""

import json

import pytest
from django.utils import timezone

from courses.content_format import ContentError
from courses.content_loader import load_content
from courses.exercises import exercise_create_or_update
from courses.models import CoursePage, LessonPage
from lms.accounts import services as accounts
from lms.progress import services
from lms.progress.models import Certificate, Enrollment, Submission
from lms.progress.selectors import course_completion
from lms.progress.tasks import grade_submission
from tests.builders import exercise_notebook, make_course, quiz_fence, write_course

pytestmark = pytest.mark.django_db

RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"


def two_quizzes(slug: str, code: str) -> str:
    number = slug.rsplit("-", 1)[-1]
    return quiz_fence(
        id=f"q{number}",
        kind="single",
        points=int(number),
        question=f"Question {number} [{code}]",
        options=[{"text": "yes", "correct": True}, {"text": "no"}],
    )


@pytest.fixture
def learner(django_user_model):
    user = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    profile = accounts.profile_create(user=user, country="JO", preferred_language="ar")
    profile.display_name = "فاطمة الزهراء"
    profile.save()
    return user


def lessons(code="en"):
    return list(LessonPage.objects.filter(locale__language_code=code).order_by("path"))


def answer(user, lesson, quiz_id, value):
    from courses.selectors import quiz_in_lesson

    return services.quiz_answer(
        user=user, lesson=lesson, spec=quiz_in_lesson(lesson=lesson, quiz_id=quiz_id), raw=[value]
    )


def test_the_rule_is_loaded_from_course_yaml(tmp_path):
    make_course(tmp_path, completion={"lessons_viewed_percent": 80, "quiz_points_percent": 60})
    for course in CoursePage.objects.all():
        assert course.completion_lessons_percent == 80
        assert course.completion_quiz_points_percent == 60
        assert course.completion_exercise_points_percent is None


@pytest.mark.parametrize(
    ("completion", "message"),
    [
        ({"lessons_viewed_percent": 150}, "lessons_viewed_percent must be a whole number from 0 to 100"),
        ({"quiz_points_percent": "most"}, "quiz_points_percent must be a whole number"),
        ({"exam_percent": 50}, "unknown completion condition 'exam_percent'"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_file(tmp_path, completion, message):
    write_course(tmp_path, completion=completion)
    with pytest.raises(ContentError, match=message) as error:
        load_content(tmp_path)
    assert "course.yaml" in str(error.value)


def test_lessons_and_quiz_points_must_both_hold(tmp_path, learner):
    make_course(
        tmp_path,
        modules=1,
        lessons_per_module=2,
        completion={"lessons_viewed_percent": 100, "quiz_points_percent": 60},
        extra_body=two_quizzes,
    )
    first, second = lessons()
    for lesson in (first, second):
        services.lesson_complete(user=learner, lesson=lesson)
    assert Enrollment.objects.get(user=learner).completed_at is None  # 0 of 3 quiz points
    answer(learner, first, "q1", "0")  # 1 of 3 points: 33%
    assert Enrollment.objects.get(user=learner).completed_at is None
    answer(learner, second, "q2", "1")  # wrong: nothing earned
    assert not Certificate.objects.exists()
    answer(learner, lessons("ar")[1], "q2", "0")  # right, in Arabic this time: 3 of 3
    enrollment = Enrollment.objects.get(user=learner)
    assert enrollment.completed_at is not None
    certificate = Certificate.objects.get(user=learner)
    assert certificate.issued_at == enrollment.completed_at
    # Issued once: more answers and a reloaded lesson leave it as it is.
    answer(learner, first, "q1", "1")
    services.lesson_complete(user=learner, lesson=first)
    assert Certificate.objects.get(user=learner).code == certificate.code


def test_progress_towards_each_condition_is_shown(client, tmp_path, learner):
    make_course(
        tmp_path,
        modules=1,
        lessons_per_module=2,
        completion={"lessons_viewed_percent": 50, "quiz_points_percent": 60},
        extra_body=two_quizzes,
    )
    first, _second = lessons()
    answer(learner, first, "q1", "0")
    client.force_login(learner)
    course = CoursePage.objects.get(locale__language_code="en")
    for url in (course.url, "/en/learning/"):
        html = client.get(url).content.decode()
        assert "Lessons completed: 0 of 2 (0%), 50% needed" in html
        assert "Quiz points: 1 of 3 (33%), 60% needed" in html
        assert "Your certificate" not in html
    services.lesson_complete(user=learner, lesson=first)  # no: 33% of the quiz points is not 60%
    answer(learner, lessons()[1], "q2", "0")
    html = client.get("/en/learning/").content.decode()
    assert "Quiz points: 3 of 3 (100%), 60% needed" in html and "Your certificate" in html


@pytest.fixture
def exercise_course(tmp_path):
    make_course(
        tmp_path,
        modules=1,
        lessons_per_module=1,
        completion={"lessons_viewed_percent": 0, "exercise_points_percent": 70},
    )
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    for page in LessonPage.objects.all():
        page.body.append(("exercise", {"exercise": exercise}))
        page.save_revision().publish()
    return CoursePage.objects.get(locale__language_code="en"), exercise


def graded(user, exercise, score, kind=Submission.Kind.SUBMIT):
    return Submission.objects.create(
        user=user,
        exercise=exercise,
        kind=kind,
        status=Submission.Status.GRADED,
        notebook={},
        score=score,
        max_score=exercise.max_score,
        queued_at=timezone.now(),
    )


def test_exercise_points_count_the_best_graded_submit(exercise_course, learner):
    course, exercise = exercise_course
    assert exercise.max_score == 7
    services.enrollment_start(user=learner, course=course)
    graded(learner, exercise, 7, kind=Submission.Kind.CHECK)  # a Check is practice, not a grade
    graded(learner, exercise, 4)
    services.course_completion_evaluate_all(user=learner)
    condition = course_completion(course=course, user=learner).conditions[1]
    assert (condition.kind, condition.earned, condition.total, condition.met) == ("exercises", 4, 7, False)
    graded(learner, exercise, 5)  # 5 of 7 = 71%
    graded(learner, exercise, 1)  # a worse attempt later does not undo the best
    services.course_completion_evaluate_all(user=learner)
    assert Enrollment.objects.get(user=learner).completed_at is not None
    assert Certificate.objects.filter(user=learner).count() == 1


@pytest.mark.kernel
def test_a_graded_submission_completes_the_course(exercise_course, learner):
    """The grading task itself evaluates the rule: the real sandboxed engine grades the notebook."""
    course, exercise = exercise_course
    services.enrollment_start(user=learner, course=course)
    submission = Submission.objects.create(
        user=learner, exercise=exercise, notebook=exercise_notebook(RIGHT), queued_at=timezone.now()
    )
    grade_submission.apply(args=[submission.pk])
    submission.refresh_from_db()
    assert submission.score == 7
    assert Enrollment.objects.get(user=learner).completed_at is not None
    assert Certificate.objects.get(user=learner).course_key == course.translation_key


def test_the_certificate_is_frozen_in_the_learners_language(tmp_path, learner):
    make_course(tmp_path, modules=1, lessons_per_module=1)
    services.lesson_complete(user=learner, lesson=lessons("fr")[0])
    certificate = Certificate.objects.get(user=learner)
    assert certificate.language == "ar"  # the profile's preferred language, not the page's
    assert certificate.course_title == "test-course title [ar]"
    assert certificate.learner_name == "فاطمة الزهراء"
    CoursePage.objects.filter(locale__language_code="ar").update(title="Renamed")
    learner.profile.display_name = "Someone else"
    learner.profile.save()
    services.lesson_complete(user=learner, lesson=lessons("fr")[0])
    certificate.refresh_from_db()
    assert (certificate.course_title, certificate.learner_name) == ("test-course title [ar]", "فاطمة الزهراء")


def test_no_name_is_ever_made_from_the_email(tmp_path, django_user_model):
    user = django_user_model.objects.create_user("amina.k", "amina.k@example.org", "x" * 12)
    make_course(tmp_path, modules=1, lessons_per_module=1)
    services.lesson_complete(user=user, lesson=lessons()[0])
    certificate = Certificate.objects.get(user=user)
    assert certificate.learner_name == "" and certificate.language == "en"
    services.certificate_name_set(certificate=certificate, name="  Amina   Kamau ")
    assert Certificate.objects.get(user=user).learner_name == "Amina Kamau"
    with pytest.raises(Exception, match="already has a name"):
        services.certificate_name_set(certificate=certificate, name="Someone")


def test_a_course_without_lessons_is_never_completed(tmp_path, learner):
    make_course(tmp_path, modules=0)
    course = CoursePage.objects.get(locale__language_code="en")
    services.enrollment_start(user=learner, course=course)
    assert services.course_completion_evaluate(user=learner, course=course) is None
