"""Test scenes made from the VOC photos of ../shared/data, for the camera geometries the photos themselves lack.

- `wide`: photos pasted at their own pixel size into 1920x1080 frames over a still background (a wide fixed camera
  that sees people as small as in the street photos);
- `close`: 240x240 frames with one face filling most of the frame (a cheap close-up camera);
- moving clips and size sweeps: maskwatch.data.scene_video.

Every scene is drawn from one split of the crop manifest (train for tuning, val for reporting), seeded, and written
as a PASCAL VOC folder (images/ + annotations/) that `maskwatch evaluate voc` scores as it is.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.errors import UserError

SCENE_SOURCES = ("andrewmvd", "jolignier")  # the VOC sets of real street and web photos
WIDE_SIZE = (1920, 1080)  # width, height
WIDE_MAX_PHOTOS = 4  # photos per wide frame: 1 to this many
GAP = 24  # pixels kept free between pasted photos
CLOSE_SIDE = 240
CLOSE_MIN_FACE = 96  # a close-up is cut only around a face this large (long side, px): at most 2x upscaling
CLOSE_FILL = (0.5, 0.9)  # the face box's long side as a share of the frame side, drawn uniformly
CLOSE_SHIFT = 0.1  # the face centre moves up to this share of the frame side off the centre
MIN_VISIBLE = 0.6  # a face cut by a scene's edge keeps less than this share of its box: difficult
JPEG_QUALITY = 92


@dataclass
class Face:
    box: np.ndarray  # x1 y1 x2 y2, float pixels
    label: str  # one of maskwatch.core.labels.CLASSES
    difficult: bool = False

    def moved(self, dx: float, dy: float, scale: float = 1.0) -> Face:
        return Face(self.box * scale + np.array([dx, dy, dx, dy]), self.label, self.difficult)


@dataclass
class Photo:
    path: Path
    source: str
    faces: list[Face]


def split_photos(data_dir: Path, manifest: Path, split: str, sources: tuple[str, ...] = SCENE_SOURCES) -> list[Photo]:
    """The annotated photos of `sources` that the crop manifest lists under `split`, sorted by path."""
    from maskwatch.data.voc_folder import read_voc_folder, restrict_to_split

    photos = []
    for source in sources:
        folder = Path(data_dir) / source
        if not folder.is_dir():
            raise UserError(f"{folder}: no such folder (scenes are made from {', '.join(sources)})")
        annotations, _ = restrict_to_split(read_voc_folder(folder), manifest, split)
        for a in annotations:
            faces = [
                Face(np.asarray(b, np.float64), lab, bool(d))
                for b, lab, d in zip(a.boxes, a.labels, a.difficult, strict=True)
            ]
            photos.append(Photo(Path(str(a.path)), source, faces))
    return sorted(photos, key=lambda p: str(p.path))


def read_photo(photo: Photo) -> np.ndarray:
    image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"{photo.path}: cannot be read as an image")
    return image


def resize_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    shrink = width * height < image.shape[0] * image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def still_background(photo: Photo, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A photo with its faces painted out (so no face-like blob is left unannotated), enlarged to cover `size`,
    heavily blurred and dimmed: a still, textured scene behind the pasted photos. The painting and blurring are
    done on a 240-px copy (the result is a blur either way)."""
    image = read_photo(photo)
    small = 240 / max(image.shape[:2])
    image = resize_to(image, max(1, round(image.shape[1] * small)), max(1, round(image.shape[0] * small)))
    hole = np.zeros(image.shape[:2], np.uint8)
    for face in photo.faces:
        x1, y1, x2, y2 = face.box * small
        w, h = x2 - x1, y2 - y1
        cv2.rectangle(hole, (int(x1 - w * 0.4), int(y1 - h * 0.6)), (int(x2 + w * 0.4), int(y2 + h * 0.6)), 255, -1)
    image = cv2.GaussianBlur(cv2.inpaint(image, hole, 3, cv2.INPAINT_TELEA), (0, 0), sigmaX=4)
    width, height = size
    scale = max(width / image.shape[1], height / image.shape[0]) * rng.uniform(1.0, 1.3)
    big = cv2.resize(
        image,
        (int(np.ceil(image.shape[1] * scale)), int(np.ceil(image.shape[0] * scale))),
        interpolation=cv2.INTER_CUBIC,
    )
    x0, y0 = rng.integers(0, big.shape[1] - width + 1), rng.integers(0, big.shape[0] - height + 1)
    return (big[y0 : y0 + height, x0 : x0 + width].astype(np.float32) * 0.8).astype(np.uint8)


# ---- wide frames -----------------------------------------------------------------------------------------------


def pack_wide_frames(
    shapes: list[tuple[int, int]],
    size: tuple[int, int],
    rng: np.random.Generator,
    max_per_frame: int = WIDE_MAX_PHOTOS,
    tries: int = 300,
) -> list[list[tuple[int, int, int]]]:
    """Photos (height, width) spread over frames, each used once: per frame (photo index, x, y) at random
    positions that keep GAP pixels between photos. A photo that finds no room starts the next frame."""
    width, height = size
    frames: list[list[tuple[int, int, int]]] = []
    placed: list[tuple[int, int, int, int]] = []
    wanted = 0
    for index, (h, w) in enumerate(shapes):
        if h > height or w > width:
            raise UserError(f"a photo of {w}x{h} does not fit into a {width}x{height} frame")
        spot = None
        if frames and len(frames[-1]) < wanted:
            spot = _free_spot(placed, w, h, size, rng, tries)
        if spot is None:
            frames.append([])
            placed = []
            wanted = int(rng.integers(1, max_per_frame + 1))
            spot = _free_spot(placed, w, h, size, rng, tries)
        if spot is None:  # an empty frame always has room for a photo that fits
            raise AssertionError("no room in an empty frame")
        frames[-1].append((index, *spot))
        placed.append((spot[0] - GAP, spot[1] - GAP, spot[0] + w + GAP, spot[1] + h + GAP))
    return frames


def _free_spot(
    placed: list[tuple[int, int, int, int]], w: int, h: int, size: tuple[int, int], rng: np.random.Generator, tries: int
) -> tuple[int, int] | None:
    for _ in range(tries):
        x, y = int(rng.integers(0, size[0] - w + 1)), int(rng.integers(0, size[1] - h + 1))
        if all(x + w <= a or x >= c or y + h <= b or y >= d for a, b, c, d in placed):
            return x, y
    return None


def render_wide(
    photos: list[Photo], placement: list[tuple[int, int, int]], background: np.ndarray
) -> tuple[np.ndarray, list[Face]]:
    """A wide frame: each photo pasted at its own size at (x, y); the faces moved with it."""
    frame = background.copy()
    faces = []
    for index, x, y in placement:
        image = read_photo(photos[index])
        frame[y : y + image.shape[0], x : x + image.shape[1]] = image
        faces += [f.moved(x, y) for f in photos[index].faces]
    return frame, faces


def build_wide(photos: list[Photo], out: Path, seed: int, size: tuple[int, int] = WIDE_SIZE) -> int:
    """Wide frames of every photo, one source per frame (named after it), as a VOC folder per source."""
    count = 0
    for source in sorted({p.source for p in photos}):
        rng = np.random.default_rng([seed, SCENE_SOURCES.index(source) if source in SCENE_SOURCES else 99])
        mine = [photos[i] for i in rng.permutation(len(photos)) if photos[i].source == source]
        shapes = [read_photo(p).shape[:2] for p in mine]
        for k, placement in enumerate(pack_wide_frames(shapes, size, rng)):
            used = {mine[i].path for i, _, _ in placement}
            others = [p for p in mine if p.path not in used] or mine  # the background is a photo not in the frame
            backdrop = others[int(rng.integers(0, len(others)))]
            frame, faces = render_wide(mine, placement, still_background(backdrop, size, rng))
            write_voc_scene(
                out / source,
                f"{source}_wide{k:04d}",
                frame,
                faces,
                {"photos": [str(mine[i].path) for i, _, _ in placement], "background": str(backdrop.path)},
            )
            count += 1
    return count


# ---- close-ups -------------------------------------------------------------------------------------------------


def close_up(
    image: np.ndarray, photo: Photo, face_index: int, rng: np.random.Generator, side: int = CLOSE_SIDE
) -> tuple[np.ndarray, list[Face]] | None:
    """A side x side frame around one face: its box's long side fills CLOSE_FILL of the frame, its centre up to
    CLOSE_SHIFT off the frame's centre; the window is moved (or, in a small photo, the fill raised) to stay inside
    the photo. None where the face would have to fill over 95 % of the frame. Other faces in the window come along,
    cut by its edge (difficult when under MIN_VISIBLE of them is left)."""
    face = photo.faces[face_index]
    x1, y1, x2, y2 = face.box
    long_side = max(x2 - x1, y2 - y1)
    window = min(long_side / rng.uniform(*CLOSE_FILL), image.shape[0], image.shape[1])
    if long_side / window > 0.95:
        return None
    cx = (x1 + x2) / 2 - rng.uniform(-CLOSE_SHIFT, CLOSE_SHIFT) * window
    cy = (y1 + y2) / 2 - rng.uniform(-CLOSE_SHIFT, CLOSE_SHIFT) * window
    left = float(np.clip(cx - window / 2, 0, image.shape[1] - window))
    top = float(np.clip(cy - window / 2, 0, image.shape[0] - window))
    scale = side / window
    warp = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]], np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    frame = cv2.warpAffine(image, warp, (side, side), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    faces = clip_faces([f.moved(-left * scale, -top * scale, scale) for f in photo.faces], side, side)
    return frame, faces


def clip_faces(faces: list[Face], width: int, height: int) -> list[Face]:
    """Faces clipped to a width x height scene; those wholly outside dropped, those mostly outside difficult."""
    out = []
    for f in faces:
        box = np.clip(f.box, 0, [width, height, width, height])
        area = np.prod(np.clip(f.box[2:] - f.box[:2], 0, None))
        visible = np.prod(np.clip(box[2:] - box[:2], 0, None))
        if visible > 0:
            out.append(Face(box, f.label, bool(f.difficult or visible < MIN_VISIBLE * area)))
    return out


def build_close(photos: list[Photo], out: Path, seed: int, side: int = CLOSE_SIDE) -> int:
    """One close-up per face of at least CLOSE_MIN_FACE px (not difficult), per source a VOC folder."""
    count = 0
    for photo_index, photo in enumerate(photos):
        big = [i for i, f in enumerate(photo.faces) if not f.difficult and max(f.box[2:] - f.box[:2]) >= CLOSE_MIN_FACE]
        if not big:
            continue
        image = read_photo(photo)
        for i in big:
            made = close_up(image, photo, i, np.random.default_rng([seed, photo_index, i]), side)
            if made is None:
                continue
            write_voc_scene(
                out / photo.source,
                f"{photo.source}_close_{photo.path.stem}_{i}",
                *made,
                {"photo": str(photo.path), "face": i},
            )
            count += 1
    return count


# ---- writing ---------------------------------------------------------------------------------------------------


def write_voc_scene(folder: Path, stem: str, image: np.ndarray, faces: list[Face], provenance: dict) -> None:
    """images/STEM.jpg and annotations/STEM.xml (PASCAL VOC), and one provenance line in scenes.jsonl."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise UserError(f"cannot write {folder / 'images' / stem}.jpg")
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = f"{stem}.jpg"
    size = ET.SubElement(root, "size")
    for key, value in (("width", image.shape[1]), ("height", image.shape[0]), ("depth", 3)):
        ET.SubElement(size, key).text = str(value)
    for face in faces:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = face.label
        ET.SubElement(obj, "difficult").text = "1" if face.difficult else "0"
        box = ET.SubElement(obj, "bndbox")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), face.box, strict=True):
            ET.SubElement(box, key).text = f"{float(value):.1f}"
    ET.indent(root)
    ET.ElementTree(root).write(folder / "annotations" / f"{stem}.xml", encoding="unicode")
    with (folder / "scenes.jsonl").open("a") as f:
        f.write(json.dumps({"image": f"{stem}.jpg", **provenance}) + "\n")


def build_scenes(
    data_dir: Path,
    manifest: Path,
    out: Path,
    splits: tuple[str, ...] = ("train", "val"),
    kinds: tuple[str, ...] = ("wide", "close"),
    seed: int = 0,
    video_seconds: float = 10.0,
    video_clips: int = 1,
) -> dict[str, int]:
    """OUT/<kind>-<split>/: VOC folders per source for wide and close, `video_clips` clips per source with their
    ground truth for video (<source>_clip, then <source>_clip1, ...: other people, other backgrounds); returns the
    number of scenes (clips) per folder. An existing folder is replaced, so the same seed always gives the same
    scenes."""
    import shutil

    from maskwatch.data.scene_video import make_scene_video

    unknown = set(kinds) - {"wide", "close", "video"}
    if unknown:
        raise UserError(f"unknown scene kind(s) {', '.join(sorted(unknown))}: choose from wide, close, video")
    counts = {}
    for split in splits:
        photos = split_photos(data_dir, manifest, split)
        for kind in kinds:
            folder = Path(out) / f"{kind}-{split}"
            shutil.rmtree(folder, ignore_errors=True)
            if kind == "video":
                for k, source in enumerate(SCENE_SOURCES):
                    for clip in range(video_clips):
                        make_scene_video(
                            [p for p in photos if p.source == source],
                            folder / f"{source}_clip{clip or ''}",
                            video_seconds,
                            seed=seed + k + 1000 * clip,
                        )
                counts[folder.name] = len(SCENE_SOURCES) * video_clips
            else:
                counts[folder.name] = (build_wide if kind == "wide" else build_close)(photos, folder, seed)
    return counts
