"""Demo photos and signatures, drawn with Pillow (no picture files in the repository), kept
through the attachment mechanism so a newcomer sees thumbnails on the demo's demands and work
orders (issue #16): the owner's photo of a leak, the before/after photos of the repair and the
owner's signature on the phone page.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from models.attachments import attach, check_file

# Wall, floor and pipe colours of a kitchen corner; the "after" photo is the same corner dry.
WALL, FLOOR, PIPE, WATER, STAIN = "#e8e2d4", "#9c8a72", "#8a9aa6", "#4f8fd6", "#b9a77f"


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


def leak_photo(rng: random.Random, *, fixed: bool = False, size=(960, 720)) -> bytes:
    """A kitchen corner with a pipe under the sink: dripping and stained, or mended and dry."""
    width, height = size
    image = Image.new("RGB", size, WALL)
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.72)
    draw.rectangle((0, horizon, width, height), fill=FLOOR)
    # The sink cabinet and the pipe under it.
    left, right = int(width * 0.25), int(width * 0.75)
    draw.rectangle((left, int(height * 0.18), right, int(height * 0.3)), fill="#d9d9d9",
                   outline="#777777", width=4)
    pipe_x = int(width * 0.48)
    draw.rectangle((pipe_x, int(height * 0.3), pipe_x + 36, horizon - 40), fill=PIPE)
    draw.rectangle((pipe_x - 60, horizon - 40, pipe_x + 36, horizon - 10), fill=PIPE)
    joint = int(height * 0.5)
    if fixed:
        # A new joint, clean and dry.
        draw.rectangle((pipe_x - 8, joint - 18, pipe_x + 44, joint + 18), fill="#c0c7cc",
                       outline="#56606a", width=3)
    else:
        draw.rectangle((pipe_x - 8, joint - 18, pipe_x + 44, joint + 18), fill="#7a6a55",
                       outline="#4a3a2a", width=3)
        for _ in range(6):  # drops under the joint
            x = pipe_x + rng.randint(-10, 40)
            y = rng.randint(joint + 30, horizon - 50)
            draw.ellipse((x, y, x + 10, y + 16), fill=WATER)
        cx, cy = pipe_x + 10, horizon + 40
        draw.ellipse((cx - 150, cy - 30, cx + 170, cy + 40), fill=WATER)  # the puddle
        draw.ellipse((int(width * 0.62), int(height * 0.05), int(width * 0.9),
                      int(height * 0.16)), fill=STAIN)  # the neighbour's ceiling stain
    return _jpeg(image)


def signature_png(rng: random.Random, size=(600, 200)) -> bytes:
    """An owner's signature as the phone page's canvas saves it: strokes on transparency."""
    width, height = size
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    x, y = 40, height // 2
    points = [(x, y)]
    while x < width - 60:
        x += rng.randint(12, 28)
        y = max(30, min(height - 30, y + rng.randint(-40, 40)))
        points.append((x, y))
    draw.line(points, fill=(20, 20, 60, 255), width=6, joint="curve")
    draw.line([(60, height - 40), (width - 80, height - 50)], fill=(20, 20, 60, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def keep(row, user, kind, name: str, data: bytes):
    """Attach a drawn picture to a row as the desk or the phone page would (checked, re-encoded,
    thumbnailed, audited)."""
    return attach(row, user, kind, check_file(kind, name, data))
