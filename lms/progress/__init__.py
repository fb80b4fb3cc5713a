"""Progress: enrollments, lesson completions and course completion.

Rows point at course and lesson pages by their Wagtail translation key, so one course in six
languages is one course: progress made in Arabic shows in English.
"""
