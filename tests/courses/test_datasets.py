"""courses/datasets.py and the Dataset snippet: every bad file is refused with its name, good ones
are stored once, content-addressed, and laid out for the sandbox; the admin upload works."""

import io
import json
import os
import re
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from courses import datasets
from courses.exercises import exercise_create_or_update
from courses.models import Dataset
from lms.accounts import services as accounts
from lms.accounts.models import Role
from tests.builders import exercise_notebook

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "sandbox" / "datasets"
CSV = (SAMPLES / "cities.csv").read_bytes()
PARQUET = (SAMPLES / "cities.parquet").read_bytes()
META = {"source": "https://example.org/cities", "licence": "CC BY 4.0"}


@pytest.fixture(autouse=True)
def datasets_dir(settings, tmp_path):
    settings.DATASETS_DIR = tmp_path / "datasets"
    settings.DATASET_MAX_BYTES = 4096
    return settings.DATASETS_DIR


@pytest.fixture
def exercise():
    return exercise_create_or_update(slug="cities", title="Cities", raw_notebook=json.dumps(exercise_notebook()))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cities.xlsx", CSV, "“cities.xlsx”: only CSV (.csv) and Parquet (.parquet) files"),
        ("cities", CSV, "“cities”: only CSV"),
        ("my cities.csv", CSV, "“my cities.csv”: learners open a dataset as /data/<file name>"),
        ("../cities.csv", CSV, "“../cities.csv”: learners open a dataset as /data/<file name>"),
        (".hidden.csv", CSV, "“.hidden.csv”: learners open"),
        ("empty.csv", b"", "“empty.csv” is empty."),
        ("big.csv", b"a,b\n" + b"1,2\n" * 1100, "“big.csv” is 4.3 KiB; a dataset may be at most 4.0 KiB."),
        ("binary.csv", b"a,b\n\x00\x01\x02", "“binary.csv” is not a CSV file: it holds binary data"),
        ("latin1.csv", "ville,pays\nQuébec,CA\n".encode("latin-1"), "“latin1.csv” is not UTF-8 text"),
        ("cut.csv", "name\nQué".encode()[:-1], "“cut.csv” is not UTF-8 text: it ends in the middle"),
        ("blank-first-line.csv", b"\na,b\n1,2\n", "“blank-first-line.csv” has no header row"),
        ("numbers.csv", b"1,2.5,3\n4,5,6\n", "“numbers.csv” has no header row: its first line holds only numbers"),
        ("cities.parquet", CSV, "“cities.parquet” is not a Parquet file: it must begin and end with the bytes PAR1"),
        ("cut.parquet", PARQUET[:-10], "“cut.parquet” is not a Parquet file"),
    ],
)
def test_bad_files_are_refused_naming_the_file_and_nothing_is_stored(exercise, datasets_dir, name, content, message):
    with pytest.raises(ValidationError) as refused:
        datasets.dataset_attach(exercise=exercise, file_name=name, content=content, **META)
    assert message in refused.value.messages[0]
    assert not Dataset.objects.exists()
    assert not (datasets_dir / "files").exists()


def test_oversized_message_gives_both_sizes(exercise, settings):
    settings.DATASET_MAX_BYTES = 1024**2
    with pytest.raises(ValidationError, match=re.escape("“big.csv” is 1.5 MiB; a dataset may be at most 1.0 MiB.")):
        datasets.dataset_attach(
            exercise=exercise, file_name="big.csv", content=b"a\n" + b"1\n" * (3 * 1024**2 // 4), **META
        )


@pytest.mark.parametrize("missing", ["source", "licence"])
def test_source_and_licence_are_required(exercise, missing):
    with pytest.raises(ValidationError, match=f"“cities.csv”: the {missing} is required"):
        datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **{**META, missing: "  "})


def test_two_files_of_one_exercise_cannot_share_a_name(exercise):
    datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **META)
    with pytest.raises(ValidationError, match=re.escape("“cities.csv”: the exercise “Cities” already has a dataset")):
        datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=b"city\nDakar\n", **META)
    assert Dataset.objects.count() == 1


def test_files_are_stored_once_read_only_and_attaching_again_changes_nothing(exercise, datasets_dir):
    first = datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **META)
    again = datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=io.BytesIO(CSV), **META)
    parquet = datasets.dataset_attach(exercise=exercise, file_name="cities.parquet", content=PARQUET, **META)
    assert again.pk == first.pk and Dataset.objects.count() == 2
    assert (first.format, first.size, parquet.format) == ("csv", len(CSV), "parquet")
    stored = datasets.stored_path(first.sha256)
    assert stored.read_bytes() == CSV and stored.stat().st_mode & 0o777 == 0o444
    assert stored.relative_to(datasets_dir / "files")
    listed = datasets.exercise_datasets(exercise)
    assert [(d.file_name, d.licence, d.source) for d in listed] == [
        ("cities.csv", "CC BY 4.0", "https://example.org/cities"),
        ("cities.parquet", "CC BY 4.0", "https://example.org/cities"),
    ]
    with datasets.dataset_open(parquet) as handle:
        assert handle.read() == PARQUET


def test_the_mounted_directory_holds_the_exercises_files_and_follows_changes(exercise, datasets_dir):
    assert datasets.exercise_datasets_dir(exercise) is None
    csv = datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **META)
    mount = datasets.exercise_datasets_dir(exercise)
    assert mount is not None and mount.parent == datasets.mounts_root() == datasets_dir / "mounts"
    assert sorted(os.listdir(mount)) == ["cities.csv"] and (mount / "cities.csv").read_bytes() == CSV
    assert datasets.exercise_datasets_dir(exercise) == mount  # made once
    datasets.dataset_attach(exercise=exercise, file_name="cities.parquet", content=PARQUET, **META)
    grown = datasets.exercise_datasets_dir(exercise)
    assert grown != mount and sorted(os.listdir(grown)) == ["cities.csv", "cities.parquet"]
    assert sorted(os.listdir(mount)) == ["cities.csv"]  # a sandbox still using it is not disturbed
    datasets.dataset_detach(exercise=exercise, dataset=csv)
    assert sorted(os.listdir(datasets.exercise_datasets_dir(exercise))) == ["cities.parquet"]


def test_changing_an_exercises_datasets_checks_it_again(exercise):
    """The datasets enter the version a self-check belongs to: every change of what the exercise
    reads at /data queues a check of its latest draft, and nothing else does."""
    from courses.exercise_checks import exercise_check_finish, exercise_check_for
    from courses.exercises import exercise_import
    from courses.models import ExerciseCheck, ExerciseCheckStatus

    def current_check():
        return exercise_check_for(exercise=exercise.get_latest_revision_as_object())

    exercise.save_revision()
    assert current_check() is None  # made live by the test builder, never checked
    dataset = datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **META)
    with_csv = current_check()
    assert with_csv.status == ExerciseCheckStatus.QUEUED
    exercise_check_finish(check_id=with_csv.pk, status=ExerciseCheckStatus.PASSED)

    # Words about the data change nothing the code sees: no check.
    dataset.licence = "ODbL-1.0"
    datasets.dataset_save(dataset=dataset)
    assert current_check().pk == with_csv.pk and ExerciseCheck.objects.count() == 1

    # New bytes under the same name: checked again.
    datasets.dataset_save(dataset=dataset, content=b"city,country,population\nDakar,SN,1\n", file_name="cities.csv")
    assert current_check().pk != with_csv.pk and current_check().status == ExerciseCheckStatus.QUEUED
    # The same bytes as before: the version checked then, with its result.
    datasets.dataset_save(dataset=dataset, content=CSV, file_name="cities.csv")
    assert current_check().pk == with_csv.pk and current_check().status == ExerciseCheckStatus.PASSED

    # Detached, and deleted while serving another exercise: each loses a file, each is checked.
    datasets.dataset_detach(exercise=exercise, dataset=dataset)
    assert current_check().status == ExerciseCheckStatus.QUEUED and current_check().pk != with_csv.pk
    other = exercise_create_or_update(slug="towns", title="Towns", raw_notebook=json.dumps(exercise_notebook()))
    dataset.exercises.set([other])
    dataset.delete()
    assert exercise_check_for(exercise=other).status == ExerciseCheckStatus.QUEUED

    # An instructor's newer draft is what gets checked, not the live notebook.
    draft_notebook = exercise_notebook()
    draft_notebook["cells"][0]["source"] = "# Cities, revised"
    exercise_import(slug="cities", raw_notebook=json.dumps(draft_notebook))
    exercise.refresh_from_db()  # its latest revision is now that draft
    before = ExerciseCheck.objects.filter(exercise=exercise).count()
    datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **META)
    queued = ExerciseCheck.objects.filter(exercise=exercise).order_by("pk").last()
    assert ExerciseCheck.objects.filter(exercise=exercise).count() == before + 1
    assert queued.notebook["cells"][0]["source"] == "# Cities, revised"
    assert queued.datasets == [["cities.csv", datasets.datasets_listing(exercise.datasets.all())[0][1]]]

    # Links changed from the exercise's side, as a shell would: checked again too.
    exercise.datasets.clear()
    assert current_check().datasets == [] and current_check().status == ExerciseCheckStatus.QUEUED
    exercise.datasets.add(Dataset.objects.get())
    assert current_check().pk == queued.pk


def test_a_check_queued_before_its_datasets_changed_hands_over_to_the_version_with_them(exercise):
    """As in a course package import: the check that is to publish the exercise was queued, then a
    dataset arrived. It must not grade with data its version does not name, nor lose the wish to
    publish: the current version inherits it."""
    from courses.exercise_checks import exercise_check_for, exercise_check_request, exercise_check_run
    from courses.models import ExerciseCheckStatus

    exercise.save_revision()
    queued = exercise_check_request(exercise=exercise, publish_when_passed=True)
    datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **META)
    current = exercise_check_for(exercise=exercise)
    assert current.pk != queued.pk and not current.publish_when_passed

    # The guard comes before any grading: no sandbox is needed to reach it.
    finished = exercise_check_run(check=queued, grader=None)
    assert (finished.status, finished.problem) == (ExerciseCheckStatus.ERROR, "datasets-changed")
    current.refresh_from_db()
    assert current.publish_when_passed and current.status == ExerciseCheckStatus.QUEUED


def test_a_missing_or_damaged_file_is_reported_by_name(exercise):
    dataset = datasets.dataset_attach(exercise=exercise, file_name="cities.csv", content=CSV, **META)
    stored = datasets.stored_path(dataset.sha256)
    stored.chmod(0o644)
    stored.write_bytes(b"city\nnowhere\n")
    with pytest.raises(datasets.DatasetUnavailable, match=re.escape("“cities.csv” is damaged")):
        datasets.exercise_datasets_dir(exercise)
    stored.unlink()
    with pytest.raises(datasets.DatasetUnavailable, match=r"“cities\.csv”.*is missing"):
        datasets.exercise_datasets_dir(exercise)


def test_attach_dataset_command(exercise, tmp_path):
    path = tmp_path / "cities.parquet"
    path.write_bytes(PARQUET)
    out = io.StringIO()
    call_command("attach_dataset", "cities", str(path), "--source", "Example", "--licence", "ODbL-1.0", stdout=out)
    assert "cities.parquet" in out.getvalue()
    assert [d.file_name for d in datasets.exercise_datasets(exercise)] == ["cities.parquet"]
    bad = tmp_path / "cities.csv"
    bad.write_bytes(b"1,2\n3,4\n")
    with pytest.raises(CommandError, match=re.escape("“cities.csv” has no header row")):
        call_command("attach_dataset", "cities", str(bad), "--source", "Example", "--licence", "ODbL-1.0")
    with pytest.raises(CommandError, match=re.escape("no exercise with the slug “nope”")):
        call_command("attach_dataset", "nope", str(path), "--source", "Example", "--licence", "ODbL-1.0")


@pytest.fixture
def instructor_client(client, django_user_model):
    user = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    accounts.profile_create(user=user, country="SN")
    accounts.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    return client


def test_an_instructor_uploads_a_dataset_in_the_admin(instructor_client, exercise):
    add_url = reverse("wagtailsnippets_courses_dataset:add")
    assert instructor_client.get(add_url).status_code == 200
    form = {"source": "https://example.org/cities", "licence": "CC BY 4.0", "description": "", "file_name": ""}

    # A bad file: the form comes back naming it, and nothing is stored.
    response = instructor_client.post(
        add_url, {**form, "upload": SimpleUploadedFile("cities.parquet", CSV), "exercises": [exercise.pk]}
    )
    assert response.status_code == 200
    assert "“cities.parquet” is not a Parquet file" in response.content.decode()
    assert not Dataset.objects.exists()

    response = instructor_client.post(
        add_url, {**form, "upload": SimpleUploadedFile("cities.csv", CSV), "exercises": [exercise.pk]}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    dataset = Dataset.objects.get()
    assert (dataset.file_name, dataset.format, dataset.size) == ("cities.csv", "csv", len(CSV))
    assert dataset.licence == "CC BY 4.0"
    assert list(dataset.exercises.all()) == [exercise]
    assert datasets.stored_path(dataset.sha256).read_bytes() == CSV

    # A second file with the same name for the same exercise is refused.
    response = instructor_client.post(
        add_url, {**form, "upload": SimpleUploadedFile("cities.csv", b"city\nDakar\n"), "exercises": [exercise.pk]}
    )
    assert "the exercise “Cities” already has a dataset with this file name" in response.content.decode()

    # Editing: the file is kept when no new one is uploaded; renaming keeps the format.
    edit_url = reverse("wagtailsnippets_courses_dataset:edit", args=[dataset.pk])
    response = instructor_client.post(
        edit_url, {**form, "licence": "ODbL-1.0", "file_name": "capitals.csv", "exercises": [exercise.pk]}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    dataset.refresh_from_db()
    assert (dataset.file_name, dataset.licence, dataset.size) == ("capitals.csv", "ODbL-1.0", len(CSV))
    listing = instructor_client.get(reverse("wagtailsnippets_courses_dataset:list"))
    assert "capitals.csv" in listing.content.decode()


@pytest.mark.kernel
def test_the_self_check_mounts_the_exercises_datasets_and_says_when_they_are_missing():
    """Through the check task and the real sandbox, as a worker runs it (in this process)."""
    from courses.exercise_checks import check_message, exercise_check_for
    from courses.exercises import exercise_import
    from courses.models import ExerciseCheckStatus
    from courses.tasks import check_exercise

    notebook = json.dumps(exercise_notebook(name="dataset-exercise.ipynb"))
    exercise, _created = exercise_import(slug="cities", raw_notebook=notebook)
    check = exercise_check_for(exercise=exercise)
    check_exercise.apply(args=[check.pk])
    check.refresh_from_db()
    # Not a verdict on the notebook: attaching the files and saving checks it again.
    assert (check.status, check.problem) == (ExerciseCheckStatus.ERROR, "no-datasets"), check.detail
    assert "reads /data" in check_message(check) and "/data/cities.csv" in check.detail
    # Attaching them queues the check of the exercise with its datasets; no save needed.
    for name, content in (("cities.csv", CSV), ("cities.parquet", PARQUET)):
        attached = datasets.dataset_attach(exercise=exercise, file_name=name, content=content, **META)
    with_data = exercise_check_for(exercise=exercise)
    assert with_data.pk != check.pk and with_data.status == ExerciseCheckStatus.QUEUED
    check_exercise.apply(args=[with_data.pk])
    with_data.refresh_from_db()
    assert with_data.status == ExerciseCheckStatus.PASSED, (with_data.problem, with_data.detail)
    exercise.get_latest_revision().publish()
    exercise.refresh_from_db()
    assert exercise.live

    # The CSV replaced by one without the column the solution reads: the check fails naming the
    # solution's test, and learners keep the published exercise until the instructor acts.
    csv = Dataset.objects.get(file_name="cities.csv")
    datasets.dataset_save(dataset=csv, content=b"city,country,inhabitants\nDakar,SN,1438725\n", file_name="cities.csv")
    broken = exercise_check_for(exercise=exercise)
    assert broken.pk not in (check.pk, with_data.pk)
    check_exercise.apply(args=[broken.pk])
    broken.refresh_from_db()
    assert (broken.status, broken.problem) == (ExerciseCheckStatus.FAILED, "solution-fails"), broken.detail
    assert broken.test == "largest-is-text" and broken.cell == 4 and "population" in broken.detail
    exercise.refresh_from_db()
    assert exercise.live

    # Back to the bytes that passed: that version's result stands, nothing runs again.
    datasets.dataset_save(dataset=csv, content=CSV, file_name="cities.csv")
    assert exercise_check_for(exercise=exercise).pk == with_data.pk

    # A check queued before a change does not file its result under data it did not run with.
    datasets.dataset_detach(exercise=exercise, dataset=attached)
    without_parquet = exercise_check_for(exercise=exercise)
    datasets.dataset_attach(exercise=exercise, file_name="cities.parquet", content=PARQUET, **META)
    assert exercise_check_for(exercise=exercise).pk == with_data.pk
    check_exercise.apply(args=[without_parquet.pk])
    without_parquet.refresh_from_db()
    assert (without_parquet.status, without_parquet.problem) == (ExerciseCheckStatus.ERROR, "datasets-changed")
