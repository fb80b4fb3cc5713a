"""A browser walk through one lesson of each shipped course in each of the six languages (issue 7).

The real content/ goes through the real loader once; then, per course and language, the lesson page
must render with its own title, the right lang/dir, no horizontal overflow, no raw template or markup
left in its text, no CSP violation, no request leaving the site, and stay within the lesson-page weight
budget of docs/performance.md (HTML + CSS + images + fonts, gzip, weighed as bench/pages.py does).
One test with a subtest per page: the content is loaded once for the whole walk (the live server's
transactional database is flushed after every test, so separate tests would reload it each time).
`UPDATE_SCREENSHOTS=1` saves docs/screenshots/courses/<course>-<language>.png.
"""

import gzip
import http.client
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from django.conf import settings

from courses.content_format import read_front_matter
from courses.content_loader import load_content
from courses.models import LessonPage
from tests.conftest import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LANGUAGES = {"en": "ltr", "ar": "rtl", "zh-hans": "ltr", "fr": "ltr", "ru": "ltr", "es": "ltr"}
# course -> (module, lesson): lessons with quizzes; machine-learning-in-python has no quiz in any
# lesson, so its lesson is one with exercises (and display maths).
LESSONS = {
    "ai-for-everyone": ("how-machine-learning-works", "testing-a-model"),  # 3 quizzes, 2 images
    "machine-learning-in-python": ("regression", "linear-regression"),  # 2 exercises, maths
    "ai-governance-public-sector": ("risk-assessment", "assessing-risk-step-by-step"),  # 3 quizzes
}
ARTEFACTS = ("{{", "{%", "```", "msgid")
# docs/performance.md: lesson pages 150 KiB (HTML + CSS + images + fonts, gzip); JavaScript is
# budgeted apart (100 KiB, or 300 KiB for a lesson with an exercise and its code editor).
BUDGET = 150 * 1024
JS_BUDGET = {"quiz": 100 * 1024, "exercise": 300 * 1024}

# Text nodes (and form values) that carry a template or markup artefact, with the element that holds them.
FIND_ARTEFACTS = """(artefacts) => {
  const hits = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const found = artefacts.filter((a) => node.nodeValue.includes(a));
    if (found.length) {
      const el = node.parentElement;
      const text = JSON.stringify(node.nodeValue.trim().slice(0, 120));
      hits.push(`${el.tagName.toLowerCase()}.${el.className}: ${found} in ${text}`);
    }
  }
  for (const el of document.querySelectorAll('input, textarea, [placeholder], [title], [aria-label], img[alt]')) {
    for (const attr of ['value', 'placeholder', 'title', 'aria-label', 'alt']) {
      const value = attr === 'value' ? el.value : el.getAttribute(attr);
      if (value && artefacts.some((a) => value.includes(a))) {
        hits.push(`${el.tagName.toLowerCase()}[${attr}]: ${value.slice(0, 120)}`);
      }
    }
  }
  return hits;
}"""
# Elements wider than the viewport, to name the culprit when the page overflows sideways.
WIDE_ELEMENTS = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.right > width + 1 || r.left < -1; })
    .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
}"""


def fetch(base: str, path: str, *, gzip_ok: bool = True) -> tuple[int, bytes, dict[str, str]]:
    address = urlparse(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request(
        "GET", urlparse(urljoin(base, path)).path, headers={"Accept-Encoding": "gzip"} if gzip_ok else {}
    )
    response = connection.getresponse()
    result = response.status, response.read(), {key.lower(): value for key, value in response.getheaders()}
    connection.close()
    return result


def compressed_size(base: str, path: str) -> int:
    """Bytes on the wire with gzip: the server's own encoding, else what gzip would make of it (bench/pages.py)."""
    status, body, headers = fetch(base, path)
    assert status == 200, f"{path} answered {status}"
    if headers.get("content-encoding") == "gzip":
        return len(body)
    return len(gzip.compress(body, compresslevel=6))


def page_weight(base: str, path: str, html: str, fetched: dict[str, str]) -> dict[str, int]:
    """bench/pages.py's weighing (stylesheets, their fonts, <img> and <script> in the HTML), plus anything
    else the browser fetched from the site (fonts, images or scripts loaded another way)."""
    assets: dict[str, str] = {}
    for css in re.findall(r'<link[^>]+href="([^"]+\.css)"', html):
        assets[urlparse(urljoin(base, css)).path] = "css"
        css_text = fetch(base, urljoin(urljoin(base, path), css), gzip_ok=False)[1].decode()
        for font in re.findall(r"url\(([^)]+\.(?:woff2?|ttf|otf))\)", css_text):
            assets[urlparse(urljoin(urljoin(base, css), font.strip("'\""))).path] = "fonts"
    for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
        assets[urlparse(urljoin(base, src)).path] = "images"
    for src in re.findall(r'<script[^>]+src="([^"]+)"', html):
        assets[urlparse(urljoin(base, src)).path] = "js"
    kinds = {"stylesheet": "css", "image": "images", "font": "fonts", "script": "js"}
    for url, resource_type in fetched.items():
        if resource_type in kinds and urlparse(url).path != path:
            assets.setdefault(urlparse(url).path, kinds[resource_type])
    weights = {"html": compressed_size(base, path), "css": 0, "images": 0, "fonts": 0, "js": 0}
    for asset, kind in assets.items():
        weights[kind] += compressed_size(base, asset)
    return weights


def test_one_lesson_of_each_course_in_each_language(page, live_server, subtests, tmp_path):
    shutil.copytree(Path(settings.BASE_DIR) / "content", tmp_path / "content")
    load_content(tmp_path / "content")
    page.set_viewport_size({"width": 1280, "height": 900})
    fetched: dict[str, str] = {}
    page.on("request", lambda request: fetched.__setitem__(request.url, request.resource_type))

    for course, (module, lesson) in LESSONS.items():
        folder = tmp_path / "content" / "courses" / course / module / lesson
        for language, direction in LANGUAGES.items():
            with subtests.test(course=course, language=language):
                title = str(read_front_matter(folder / f"{language}.md")[0]["title"]).strip()
                lesson_page = LessonPage.objects.get(slug=lesson, locale__language_code=language)
                assert not lesson_page.alias_of_id, f"{course} has no {language} lesson of its own"
                page.outside_requests.clear()
                page.csp_violations.clear()
                fetched.clear()

                response = page.goto(live_server.url + lesson_page.url)
                page.wait_for_load_state("load")
                assert response.status == 200
                assert page.locator("html").get_attribute("lang") == language
                assert page.locator("html").get_attribute("dir") == direction
                assert page.locator("article.lesson h1").inner_text().strip() == title
                block = "exercise" if course == "machine-learning-in-python" else "quiz"
                assert page.locator(f"article.lesson section.{block}").count() > 0
                if os.environ.get("UPDATE_SCREENSHOTS") == "1":
                    (SCREENSHOTS / "courses").mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(SCREENSHOTS / "courses" / f"{course}-{language}.png"), full_page=False)

                sizes = page.evaluate(
                    "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                assert sizes[0] <= sizes[1] + 1, f"overflows sideways {sizes}: {page.evaluate(WIDE_ELEMENTS)}"
                assert page.evaluate(FIND_ARTEFACTS, list(ARTEFACTS)) == []
                assert page.csp_violations == []
                assert page.outside_requests == []

                html = fetch(live_server.url, lesson_page.url, gzip_ok=False)[1].decode()
                weights = page_weight(live_server.url, lesson_page.url, html, dict(fetched))
                non_js = sum(value for kind, value in weights.items() if kind != "js")
                print(f"{course} {language}: {non_js / 1024:.1f} KiB + {weights['js'] / 1024:.1f} KiB JS {weights}")
                assert non_js <= BUDGET, weights
                assert weights["js"] <= JS_BUDGET[block], weights
