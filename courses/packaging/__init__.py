"""Course packages: one course, every language, its exercises, images and datasets, as one zip.

A centre exports a course (`export_course`, or the admin's "Download package" button) and another
deployment imports it (`import_course`, or the admin's "Import a course package" form). The format
is described in docs/course-packages.md; `archive` reads and checks a package without touching the
database, `exporter` and `importer` move courses in and out, `datasets` is the one place that knows
how datasets are stored.
"""

from courses.packaging.archive import PackageError
from courses.packaging.exporter import course_package_export
from courses.packaging.importer import ImportReport, course_package_import

__all__ = ["ImportReport", "PackageError", "course_package_export", "course_package_import"]
