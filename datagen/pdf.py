"""reportlab PDF renderer: draws a Layout as a one-page vector PDF with embedded (subset) fonts.

Words are placed at the layout's baseline positions, so text extracted from the PDF lands on the
same boxes as the raster. ``invariant=1`` removes timestamps and random ids: same layout, same bytes.
"""

from __future__ import annotations

import io
from functools import cache

from reportlab.lib.colors import HexColor
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from datagen.fonts import Font
from datagen.layout import Layout


@cache
def _register(font: Font) -> str:
    pdfmetrics.registerFont(TTFont(font.key, str(font.path)))
    return font.key


def render_pdf(layout: Layout) -> bytes:
    buf = io.BytesIO()
    height = layout.height
    canvas = Canvas(buf, pagesize=(layout.width, height), invariant=1, pageCompression=1)
    canvas.setFillColor(HexColor(layout.paper))
    canvas.rect(0, 0, layout.width, height, stroke=0, fill=1)
    for shape in layout.shapes:
        canvas.setStrokeColor(HexColor(shape.color))
        canvas.setFillColor(HexColor(shape.fill or shape.color))
        canvas.setLineWidth(shape.width)
        canvas.setDash([4, 4] if shape.dashed else [])
        stroke, fill = int(shape.width > 0), int(shape.fill is not None)
        p = shape.points
        if shape.kind == "line":
            canvas.line(p[0], height - p[1], p[2], height - p[3])
        elif shape.kind == "rect":
            canvas.rect(p[0], height - p[3], p[2] - p[0], p[3] - p[1], stroke=stroke, fill=fill)
        elif shape.kind == "ellipse":
            canvas.ellipse(p[0], height - p[3], p[2], height - p[1], stroke=stroke, fill=fill)
        else:
            path = canvas.beginPath()
            path.moveTo(p[0], height - p[1])
            for x, y in zip(p[2::2], p[3::2], strict=True):
                path.lineTo(x, height - y)
            path.close()
            canvas.drawPath(path, stroke=stroke, fill=fill)
    for word in layout.words:
        if word.mark:  # a check box: drawn as shapes; its state goes in the text layer as invisible text,
            text = canvas.beginText(word.pen_x, height - word.baseline)  # as in a scanned page's OCR layer
            text.setTextRenderMode(3)
            text.setFont(_register(word.font), word.size)
            text.textOut(word.text)
            canvas.drawText(text)
            continue
        canvas.setFont(_register(word.font), word.size)
        canvas.setFillColor(HexColor(word.color))
        canvas.drawString(word.pen_x, height - word.baseline, word.text)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()
