"""Regenerate the images of the course "First steps with AI".

Run from anywhere with a Python that has Pillow:
    python make_images.py
The images contain no words (only numbers), so every language can share them.
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
SCALE = 3  # draw large, then shrink: cheap anti-aliasing

BLUE = (37, 99, 235)
ORANGE = (234, 88, 12)
GREEN = (22, 163, 74)
GREY = (100, 116, 139)
LIGHT = (226, 232, 240)
INK = (30, 41, 59)
WHITE = (255, 255, 255)


def font(size):
    try:  # Pillow looks for the font in the system font folders
        return ImageFont.truetype("DejaVuSans.ttf", size * SCALE)
    except OSError:
        return ImageFont.load_default(size * SCALE)


def save(img, name, w, h):
    img = img.resize((w, h), Image.LANCZOS)
    img = img.quantize(colors=48, method=Image.Quantize.MEDIANCUT)
    img.save(HERE / name, optimize=True)
    print(name, (HERE / name).stat().st_size, "bytes")


def s(*values):
    return [v * SCALE for v in values]


def arrow(d, x1, y, x2, colour=GREY):
    d.line(s(x1, y, x2 - 14, y), fill=colour, width=6 * SCALE)
    d.polygon(s(x2, y, x2 - 20, y - 14, x2 - 20, y + 14), fill=colour)


def data_model_prediction():
    """Data (a table of dots) -> model (a small network) -> prediction."""
    W, H = 720, 240
    img = Image.new("RGB", (W * SCALE, H * SCALE), WHITE)
    d = ImageDraw.Draw(img)

    # 1. Data: a table of coloured cells
    d.rounded_rectangle(s(20, 40, 200, 200), radius=14 * SCALE, fill=LIGHT)
    colours = [BLUE, BLUE, ORANGE]
    for row in range(5):
        for col in range(3):
            x, y = 45 + col * 50, 60 + row * 28
            d.rounded_rectangle(s(x, y, x + 36, y + 18), radius=4 * SCALE, fill=colours[col])

    arrow(d, 215, 120, 285)

    # 2. Model: a tiny neural network
    d.rounded_rectangle(s(295, 30, 465, 210), radius=14 * SCALE, fill=LIGHT)
    layers = [[70, 120, 170], [60, 100, 140, 180], [120]]
    xs = [330, 380, 430]
    for (xa, la), (xb, lb) in zip(zip(xs, layers), zip(xs[1:], layers[1:])):
        for ya in la:
            for yb in lb:
                d.line(s(xa, ya, xb, yb), fill=GREY, width=2 * SCALE)
    for x, layer in zip(xs, layers):
        for y in layer:
            d.ellipse(s(x - 11, y - 11, x + 11, y + 11), fill=GREEN, outline=INK, width=2 * SCALE)

    arrow(d, 480, 120, 550)

    # 3. Prediction: a new cell with a question answered (a target)
    d.rounded_rectangle(s(560, 60, 700, 180), radius=14 * SCALE, fill=LIGHT)
    for r, c in ((44, ORANGE), (30, WHITE), (16, ORANGE)):
        d.ellipse(s(630 - r, 120 - r, 630 + r, 120 + r), fill=c)
    save(img, "data-model-prediction.png", W, H)


def line_fit():
    """Rainfall (mm) vs maize harvest (t/ha), the fitted line and the errors."""
    rain = [300, 400, 500, 600, 700, 800]
    harvest = [1.1, 1.6, 1.9, 2.4, 2.8, 3.1]
    n = len(rain)
    mx, my = sum(rain) / n, sum(harvest) / n
    w = sum((x - mx) * (y - my) for x, y in zip(rain, harvest)) / sum((x - mx) ** 2 for x in rain)
    b = my - w * mx

    W, H = 640, 420
    left, right, top, bottom = 80, 610, 25, 360
    x0, x1, y0, y1 = 200, 900, 0.0, 4.0

    def px(x, y):
        return (left + (x - x0) / (x1 - x0) * (right - left),
                bottom - (y - y0) / (y1 - y0) * (bottom - top))

    img = Image.new("RGB", (W * SCALE, H * SCALE), WHITE)
    d = ImageDraw.Draw(img)
    f = font(15)

    for yv in range(0, 5):
        _, yy = px(x0, yv)
        d.line(s(left, yy, right, yy), fill=LIGHT, width=1 * SCALE)
        d.text(s(left - 14, yy), str(yv), font=f, fill=INK, anchor="rm")
    for xv in range(200, 901, 100):
        xx, _ = px(xv, 0)
        d.line(s(xx, bottom, xx, bottom + 6), fill=INK, width=2 * SCALE)
        d.text(s(xx, bottom + 12), str(xv), font=f, fill=INK, anchor="mt")
    d.line(s(left, top, left, bottom, right, bottom), fill=INK, width=2 * SCALE)

    # fitted line y = w x + b
    d.line(s(*px(x0, w * x0 + b), *px(x1, w * x1 + b)), fill=ORANGE, width=4 * SCALE)
    # errors (dashed vertical lines) and data points
    for x, y in zip(rain, harvest):
        ax, ay = px(x, y)
        _, ly = px(x, w * x + b)
        step = 5 if ly > ay else -5
        for yy in range(int(ay), int(ly), step * 2):
            d.line(s(ax, yy, ax, yy + step), fill=GREY, width=2 * SCALE)
        d.ellipse(s(ax - 8, ay - 8, ax + 8, ay + 8), fill=BLUE, outline=INK, width=2 * SCALE)
    # a new prediction at 550 mm
    nx, ny = px(550, w * 550 + b)
    d.ellipse(s(nx - 9, ny - 9, nx + 9, ny + 9), fill=WHITE, outline=GREEN, width=4 * SCALE)
    save(img, "line-fit.png", W, H)


if __name__ == "__main__":
    data_model_prediction()
    line_fit()
