"""Wagtail course pages: catalog, course, module, lesson; their blocks, templates and content loading."""
