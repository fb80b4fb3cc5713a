"""An exercise's own texts, translatable through wagtail-localize; its code, tests and points are not.

An instructor notebook holds instructions in its Markdown cells, in one language. ``ExerciseText``
holds those texts (and the exercise's title) per language: the row in the notebook's language (the
site's default unless ``Exercise.notebook_locale`` says otherwise, as for an imported course) is
made from the notebook every time the exercise is saved, and translators translate it like any
snippet ("Translate", PO download and upload, machine translation). The ``Exercise`` itself (the
notebook, its tests and points) stays one row that every language shares, and learners' submissions
point at it.

A lesson's exercise block can carry its own title, instructions and hints (translated with the page);
when it has no instructions, the learner sees the notebook's cells with these texts in the page's
language, falling back to the source language cell by cell.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Locale, TranslatableMixin
from wagtail_localize.fields import SynchronizedField, TranslatableField


class ExerciseText(TranslatableMixin, models.Model):
    exercise = models.ForeignKey("courses.Exercise", on_delete=models.CASCADE, related_name="texts")
    title = models.CharField(_("title"), max_length=200, blank=True)
    cells = StreamField(
        [("markdown", blocks.TextBlock(label=_("Text cell (Markdown)")))],
        blank=True,
        verbose_name=_("instructions"),
        help_text=_("The notebook's text cells, in order."),
    )

    translatable_fields = [
        TranslatableField("title"),
        TranslatableField("cells"),
        SynchronizedField("exercise"),
    ]
    panels = [FieldPanel("title"), FieldPanel("cells")]

    class Meta(TranslatableMixin.Meta):
        verbose_name = _("exercise text")
        verbose_name_plural = _("exercise texts")
        constraints = [models.UniqueConstraint(fields=["exercise", "locale"], name="one_exercise_text_per_locale")]

    def __str__(self) -> str:
        return self.title or str(self.exercise_id)


def notebook_text_cells(exercise: Any) -> list[str]:
    """The Markdown cells a learner reads (not answer cells), in the order the learner's page shows them."""
    from courses.exercises import answer_key, exercise_release

    cells = []
    for cell in exercise_release(exercise)["cells"]:
        if cell["cell_type"] == "markdown" and not answer_key(cell):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            cells.append(source)
    return cells


def exercise_text_locale_id(exercise: Any) -> int:
    """The language the exercise's notebook is written in: the source of its texts' translations."""
    # Locale.DoesNotExist before the site has its languages.
    return exercise.notebook_locale_id or Locale.get_default().pk


def source_text(exercise: Any, rows: list[ExerciseText]) -> ExerciseText | None:
    """Among ``exercise``'s texts (their locales selected), the one made from its notebook; no query."""
    if exercise.notebook_locale_id:
        return next((row for row in rows if row.locale_id == exercise.notebook_locale_id), None)
    return next((row for row in rows if row.locale.is_default), None)


def exercise_text_refresh(*, exercise: Any) -> ExerciseText:
    """Make the source-language texts of ``exercise`` match its notebook (saved only when they differ).

    Existing translations are kept: a changed cell shows as outdated in wagtail-localize after "Sync".
    Cells keep their block ids by position, so an unchanged cell keeps its translations.
    """
    locale_id = exercise_text_locale_id(exercise)
    text = ExerciseText.objects.filter(exercise=exercise, locale_id=locale_id).first()
    cells = notebook_text_cells(exercise)
    old_ids = [block.id for block in text.cells] if text is not None else []
    stream = [
        {"type": "markdown", "value": cell, **({"id": old_ids[n]} if n < len(old_ids) else {})}
        for n, cell in enumerate(cells)
    ]
    if text is None:
        text = ExerciseText(exercise=exercise, locale_id=locale_id)
    elif text.title == exercise.title and [block.value for block in text.cells] == cells:
        return text
    text.title = exercise.title
    text.cells = stream
    text.save()
    return text


def exercise_texts_for(*, exercise: Any, locale_id: int | None) -> tuple[str, list[str]] | None:
    """The exercise's title and text cells in ``locale_id``'s language, each falling back to the source
    language's (the translation may lack a cell added since); None when the exercise has no texts yet.
    One query."""
    rows = list(ExerciseText.objects.filter(exercise=exercise).select_related("locale"))
    if not rows:
        return None
    source = source_text(exercise, rows) or rows[0]
    wanted = next((row for row in rows if row.locale_id == locale_id), source)
    if wanted.pk == source.pk:
        return source.title, [block.value for block in source.cells]
    # wagtail-localize gives a translated cell its source cell's block id.
    translated = {block.id: block.value for block in wanted.cells}
    return wanted.title or source.title, [translated.get(block.id) or block.value for block in source.cells]


@receiver(post_save, sender="courses.Exercise", dispatch_uid="exercise_text_refresh")
def _refresh_on_save(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loading fixtures
        return
    from django.core.exceptions import ValidationError

    try:
        exercise_text_refresh(exercise=instance)
    except (ValidationError, Locale.DoesNotExist):
        # A notebook the engine refuses has no cells to show (its own check reports why); a site
        # without languages yet has nothing to translate into.
        return
