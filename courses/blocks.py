"""Every StreamField block a lesson body can hold, combined into one LessonStreamBlock."""

from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ValidationError
from django.forms.utils import ErrorList
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from latex2mathml.converter import convert as latex_to_mathml
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "ol", "ul", "link", "code", "blockquote"]

CODE_LANGUAGES = [
    ("python", "Python"),
    ("text", _("Plain text")),
    ("bash", "Shell"),
    ("sql", "SQL"),
    ("json", "JSON"),
    ("yaml", "YAML"),
]


class CodeBlock(blocks.StructBlock):
    """Source code, highlighted on the server so that pages need no JavaScript to read."""

    language = blocks.ChoiceBlock(choices=CODE_LANGUAGES, default="python")
    code = blocks.TextBlock()
    caption = blocks.CharBlock(required=False)

    class Meta:
        icon = "code"
        template = "blocks/code_block.html"
        label = _("Code")

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        context = super().get_context(value, parent_context)
        context["highlighted"] = highlight_code(value["code"], value["language"])
        return context


def highlight_code(code: str, language: str) -> SafeString:
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    # Pygments escapes the source itself; the result is trusted HTML.
    return mark_safe(highlight(code, lexer, HtmlFormatter(nowrap=True)))  # noqa: S308


class MathBlock(blocks.StructBlock):
    """Display mathematics written in LaTeX, rendered to MathML on the server (no script, no font)."""

    latex = blocks.TextBlock(help_text=_("LaTeX, without the surrounding $$."))

    class Meta:
        icon = "snippet"
        template = "blocks/math_block.html"
        label = _("Math")

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        context = super().get_context(value, parent_context)
        context["mathml"] = render_mathml(value["latex"])
        return context


def render_mathml(latex: str) -> SafeString | None:
    try:
        # latex2mathml escapes text content; its output is trusted markup.
        return mark_safe(latex_to_mathml(latex, display="block"))  # noqa: S308
    except Exception:  # noqa: BLE001 - malformed LaTeX falls back to showing the source
        return None


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(required=False, help_text=_("Describe the image for people who cannot see it."))
    caption = blocks.CharBlock(required=False)

    class Meta:
        icon = "image"
        template = "blocks/image_block.html"
        label = _("Image")


class VideoBlock(blocks.StructBlock):
    """A video shown as a link with a caption: nothing is fetched from a video host until the learner asks.

    Learners may be on metered connections, so a page never loads a third-party player by itself.
    """

    url = blocks.URLBlock()
    caption = blocks.CharBlock(required=False)

    class Meta:
        icon = "media"
        template = "blocks/video_block.html"
        label = _("Video")

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        context = super().get_context(value, parent_context)
        context["host"] = urlparse(value["url"]).hostname or ""
        return context


class CalloutBlock(blocks.StructBlock):
    kind = blocks.ChoiceBlock(
        choices=[("note", _("Note")), ("tip", _("Tip")), ("warning", _("Warning"))], default="note"
    )
    body = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)

    class Meta:
        icon = "help"
        template = "blocks/callout_block.html"
        label = _("Callout")


class ExerciseBlock(blocks.StructBlock):
    """A graded notebook exercise inside a lesson: instructions, an editor, Run, Check and Submit.

    The notebook (code, tests, points) is the shared Exercise snippet; the title, instructions and
    hints are the block's, in the page's language.
    """

    exercise = SnippetChooserBlock("courses.Exercise")
    title = blocks.CharBlock(
        required=False, help_text=_("In this page's language; empty for the exercise's own title.")
    )
    instructions = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, required=False)
    hints = blocks.ListBlock(
        blocks.RichTextBlock(features=RICH_TEXT_FEATURES),
        default=[],
        help_text=_("Revealed one at a time, in this order."),
    )

    class Meta:
        icon = "code"
        template = "blocks/exercise_block.html"
        label = _("Exercise")

    def render(self, value: Any, context: dict[str, Any] | None = None) -> Any:
        # Never published means never checked: a lesson does not serve it (docs/authoring.md).
        exercise = value.get("exercise")
        if exercise is not None and not exercise.live:
            return render_to_string("blocks/exercise_unavailable.html", {"value": value})
        return super().render(value, context)

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        from courses.selectors import exercise_view

        context = super().get_context(value, parent_context)
        request = (parent_context or {}).get("request")
        context["view"] = exercise_view(
            exercise=value["exercise"],
            user=getattr(request, "user", None),
            title=value.get("title") or "",
            instructions=value.get("instructions"),
            hints=list(value.get("hints") or []),
            lesson=(parent_context or {}).get("page"),
        )
        return context


class QuizOptionBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("Option"), max_length=500)
    correct = blocks.BooleanBlock(label=_("Correct"), required=False)
    feedback = blocks.TextBlock(
        label=_("Feedback"), required=False, help_text=_("Why this option is right or wrong, shown after answering.")
    )

    class Meta:
        icon = "list-ul"


class QuizBlock(blocks.StructBlock):
    """A question graded on the server. Ids, points, correct flags, the number and the tolerance are the
    same in every language (wagtail-localize leaves non-text fields alone); the texts are translated."""

    quiz_id = blocks.RegexBlock(
        regex=r"^[a-z0-9][a-z0-9_-]{0,79}$",
        label=_("Quiz id"),
        help_text=_("Unique in the course and the same in every language, e.g. what-is-ml-1."),
        error_messages={"invalid": _("Use lowercase letters, digits, '-' and '_'.")},
    )
    kind = blocks.ChoiceBlock(
        choices=[
            ("single", _("Single choice")),
            ("multiple", _("Multiple choice")),
            ("numeric", _("Number")),
            ("text", _("Short text")),
        ],
        default="single",
    )
    points = blocks.IntegerBlock(default=1, min_value=1, max_value=1000)
    question = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)
    options = blocks.ListBlock(QuizOptionBlock(), required=False, label=_("Options (single and multiple choice)"))
    answer = blocks.FloatBlock(required=False, label=_("Expected number (numeric)"))
    tolerance = blocks.FloatBlock(required=False, min_value=0, label=_("Tolerance (numeric, absolute)"))
    accept = blocks.ListBlock(
        blocks.CharBlock(max_length=200),
        required=False,
        label=_("Accepted answers (short text)"),
        help_text=_("Compared ignoring case, accents' composed forms and extra spaces."),
    )
    explanation = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, required=False)

    class Meta:
        icon = "help"
        template = "blocks/quiz_block.html"
        label = _("Quiz")

    def clean(self, value: Any) -> Any:
        from courses.quizzes import QuizSpecError, validate_quiz

        value = super().clean(value)
        try:
            validate_quiz(quiz_spec(value))
        except QuizSpecError as error:
            message = ValidationError(str(error))
            field = {"id": "quiz_id"}.get(error.key, error.key)
            # List fields (options, accept) take their errors on the quiz as a whole: the admin shows a
            # list's own errors only per item.
            if field in ("quiz_id", "kind", "points", "question", "answer", "tolerance"):
                raise blocks.StructBlockValidationError(block_errors={field: message}) from error
            raise blocks.StructBlockValidationError(non_block_errors=ErrorList([message])) from error
        return value

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        from courses.selectors import quiz_view

        context = super().get_context(value, parent_context)
        parent_context = parent_context or {}
        context["quiz"] = quiz_view(
            spec=quiz_spec(value), page=parent_context.get("page"), request=parent_context.get("request")
        )
        return context


def quiz_spec(value: Any) -> dict[str, Any]:
    """A QuizBlock value as the plain dict courses.quizzes validates and grades."""
    return {
        "quiz_id": value["quiz_id"],
        "kind": value["kind"],
        "points": value["points"],
        "question": value["question"].source if hasattr(value["question"], "source") else value["question"],
        "options": [
            {"text": option["text"], "correct": bool(option["correct"]), "feedback": option["feedback"]}
            for option in value["options"] or []
        ],
        "answer": value["answer"],
        "tolerance": value["tolerance"],
        "accept": list(value["accept"] or []),
        "explanation": value["explanation"].source if hasattr(value["explanation"], "source") else value["explanation"],
    }


class LessonStreamBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, icon="pilcrow", label=_("Text"))
    code = CodeBlock()
    math = MathBlock()
    image = ImageBlock()
    video = VideoBlock()
    callout = CalloutBlock()
    exercise = ExerciseBlock()
    quiz = QuizBlock()
