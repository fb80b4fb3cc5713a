"""Regenerate the images of the course "AI for everyone".

Run from anywhere with a Python that has Pillow:
    python make_images.py
The images contain no words or numbers, so every language can share them; the lessons explain
them in translated alt text and captions.
"""

import random
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SCALE = 3  # draw large, then shrink: cheap anti-aliasing

BLUE = (37, 99, 235)
ORANGE = (234, 88, 12)
GREY = (148, 163, 184)
WHITE = (255, 255, 255)


def s(*values):
    return [v * SCALE for v in values]


def palette():
    """Our colours and their blends with white: a few orange dots survive quantisation this way."""
    colours = [WHITE]
    for colour in (BLUE, ORANGE, GREY):
        for share in (1, 0.75, 0.5, 0.25):
            colours.append(tuple(round(c * share + 255 * (1 - share)) for c in colour))
    image = Image.new("P", (1, 1))
    image.putpalette([value for colour in colours for value in colour])
    return image


def save(img, name, w, h):
    img = img.resize((w, h), Image.LANCZOS)
    img = img.quantize(palette=palette(), dither=Image.Dither.NONE)
    img.save(HERE / name, optimize=True)
    print(name, (HERE / name).stat().st_size, "bytes")


def screening():
    """1,000 people as dots, 50 by 20; the 20 orange dots are the people who have TB."""
    cols, rows, step, r = 50, 20, 14, 5
    W, H = cols * step + 20, rows * step + 20
    img = Image.new("RGB", (W * SCALE, H * SCALE), WHITE)
    d = ImageDraw.Draw(img)
    sick = set(random.Random(7).sample(range(cols * rows), 20))  # fixed seed: same picture every run
    for i in range(cols * rows):
        x, y = 10 + (i % cols) * step + step // 2, 10 + (i // cols) * step + step // 2
        d.ellipse(s(x - r, y - r, x + r, y + r), fill=ORANGE if i in sick else GREY)
    save(img, "screening-1000.png", W, H)


def train_test_split():
    """Ten example cards: eight for training (blue), a gap, then two kept back for the test (orange)."""
    W, H = 720, 150
    img = Image.new("RGB", (W * SCALE, H * SCALE), WHITE)
    d = ImageDraw.Draw(img)
    card_w, gap = 56, 10
    x = 20
    for i in range(10):
        if i == 8:
            x += 40  # the test cards are set apart: the model never sees them while training
        colour = BLUE if i < 8 else ORANGE
        d.rounded_rectangle(s(x, 30, x + card_w, 120), radius=8 * SCALE, fill=colour)
        # a small "photo" on each card: a sun-like circle and a hill
        d.ellipse(s(x + 12, 42, x + 26, 56), fill=WHITE)
        d.polygon(s(x + 6, 110, x + 28, 76, x + 50, 110), fill=WHITE)
        x += card_w + gap
    save(img, "train-test-split.png", W, H)


if __name__ == "__main__":
    screening()
    train_test_split()
