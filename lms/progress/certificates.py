"""Certificates as documents: the PDF, rendered by WeasyPrint through Pango and HarfBuzz.

Pango shapes Arabic (joined letters, right to left) and picks CJK glyphs from the system's Noto
fonts (fonts-noto-core, fonts-noto-cjk); nothing is fetched while rendering, not even a file.
"""

from __future__ import annotations

import base64
import io
import logging

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language_bidi

from lms.progress.models import Certificate

# WeasyPrint reports each rendering step at INFO; one line per step per certificate is noise in logs.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def verify_url(request: HttpRequest, certificate: Certificate) -> str:
    """The public page that confirms this certificate, in its language."""
    with translation.override(certificate.language):
        return request.build_absolute_uri(reverse("certificate_verify", args=[certificate.code]))


def _qr_data_uri(url: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=1)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def certificate_html(certificate: Certificate, *, verify_url: str) -> str:
    with translation.override(certificate.language):
        return render_to_string(
            "progress/certificate_pdf.html",
            {
                "certificate": certificate,
                "verify_url": verify_url,
                "qr": _qr_data_uri(verify_url),
                "direction": "rtl" if get_language_bidi() else "ltr",
            },
        )


def render_pdf(certificate: Certificate, *, verify_url: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = certificate_html(certificate, verify_url=verify_url)
    # The document carries everything it needs inline: no network, no file is ever read for it.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf()
