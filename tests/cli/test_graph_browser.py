"""``lineage graph --format html`` of a 200-node store, opened in a real headless Chromium.

Chromium comes from Debian's packages; when /usr/bin/chromium is missing the
session installs it (apt-get, as root), so CI needs nothing prepared. The page
is checked twice: ``--dump-dom`` gives the DOM after its script ran (node count,
labels, states, boxes that never overlap), ``--screenshot`` a PNG that must show
a drawing rather than a blank page.
"""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import struct
import subprocess
import zlib

import pytest

import lineage
from lineage.proto import metadata_store_pb2 as pb

from .conftest import make_store_url

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=3000",
]
WINDOW = (1600, 1000)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a headless-capable Chromium, installed from Debian's packages if missing."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found:
        return found
    problem = None
    if os.geteuid() != 0:
        problem = "chromium is not installed and installing it needs root"
    elif shutil.which("apt-get") is None:
        problem = "chromium is not installed and there is no apt-get"
    else:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                problem = f"{' '.join(command)} failed: {done.stderr[-800:]}"
                break
    if problem is None and os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    problem = problem or "apt-get installed chromium but /usr/bin/chromium is missing"
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def seed_sweep(store, chains: int = 33) -> int:
    """An experiment of 200 nodes in one context; returns the context id.

    One vocabulary is read by every trainer; each of ``chains`` days ingests raw
    data, trains a model (some FAILED, some models DELETED) and evaluates it
    against the day's model and the previous day's raw data (an edge that skips
    columns).
    """
    types = {n: store.put_artifact_type(pb.ArtifactType(name=n)) for n in ("Vocabulary", "RawData", "Model", "Metrics")}
    steps = {n: store.put_execution_type(pb.ExecutionType(name=n)) for n in ("Ingest", "Train", "Evaluate")}
    [context_id] = store.put_contexts([pb.Context(type_id=store.put_context_type(pb.ContextType(name="Experiment")),
                                                  name="sweep")])
    context = store.get_contexts_by_id([context_id])[0]

    def run(step, inputs, outputs, state=pb.Execution.COMPLETE):
        def event(kind, key):
            return pb.Event(type=kind, path=pb.Event.Path(steps=[pb.Event.Path.Step(key=key)]))

        pairs = [(a, event(pb.Event.INPUT, k)) for k, a in inputs]
        pairs += [(a, event(pb.Event.OUTPUT, k)) for k, a in outputs]
        _, ids, _ = store.put_execution(pb.Execution(type_id=steps[step], last_known_state=state), pairs, [context])
        return store.get_artifacts_by_id(ids[len(inputs):])

    def artifact(type_name, uri, state=pb.Artifact.LIVE):
        return pb.Artifact(type_id=types[type_name], uri=uri, state=state)

    [vocabulary] = run("Ingest", [], [("vocabulary", artifact("Vocabulary", "/data/vocabulary"))])
    previous = None
    for day in range(chains):
        [raw] = run("Ingest", [], [("examples", artifact("RawData", f"/data/raw/day-{day:02d}"))])
        model_state = pb.Artifact.DELETED if day % 7 == 0 else pb.Artifact.LIVE
        train_state = pb.Execution.FAILED if day % 11 == 5 else pb.Execution.COMPLETE
        [model] = run("Train", [("examples", raw), ("vocabulary", vocabulary)],
                      [("model", artifact("Model", f"/models/day-{day:02d}", model_state))], train_state)
        inputs = [("model", model)] + ([("baseline", previous)] if previous is not None else [])
        run("Evaluate", inputs, [("metrics", artifact("Metrics", f"/eval/day-{day:02d}"))])
        previous = raw
    return context_id


class _Boxes(html.parser.HTMLParser):
    """Collects node groups and their box rectangles from the dumped DOM."""

    def __init__(self):
        super().__init__()
        self.nodes: list[dict] = []
        self.folds: list[dict] = []
        self.views: list[dict] = []
        self._group: list = self.nodes
        self.texts: list[str] = []
        self.details_json = ""
        self._in_details = False
        self.zoom_level = ""
        self._in_zoom = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "svg":
            self.views.append({"view": attrs.get("data-view"), "style": attrs.get("style") or ""})
        elif tag == "g" and "node" in classes:
            self.nodes.append({"key": attrs["data-key"], "type": attrs["data-type"], "view": self.views[-1]["view"],
                               "state": attrs["data-state"], "classes": classes})
            self._group = self.nodes
        elif tag == "g" and "fold" in classes:
            self.folds.append({"key": attrs["data-key"], "first": attrs["data-first"], "last": attrs["data-last"],
                               "size": int(attrs["data-size"])})
            self._group = self.folds
        elif tag == "rect" and "box" in classes and self._group:
            self._group[-1]["box"] = tuple(float(attrs[k]) for k in ("x", "y", "width", "height"))
        elif tag == "script" and attrs.get("id") == "node-details":
            self._in_details = True
        elif tag == "span" and attrs.get("id") == "zoom-level":
            self._in_zoom = True

    def handle_endtag(self, tag):
        self._in_details = self._in_zoom = False

    def handle_data(self, data):
        if self._in_details:
            self.details_json += data
        elif self._in_zoom:
            self.zoom_level += data
        else:
            self.texts.append(data)


def _png_pixels(path) -> tuple[int, int, list[bytes]]:
    """Decodes an 8-bit RGB/RGBA PNG into rows of pixel bytes (enough for Chromium's screenshots)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb_, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb_ and pa <= pc else up if pb_ <= pc else corner)) & 0xFF
        rows.append(bytes(line[c] for c in range(stride) if c % channels < 3))
        previous = line
    return width, height, rows


def _overlaps(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_a_200_node_graph_in_chromium(chromium, request, tmp_path, run):
    url = make_store_url("memory", request, tmp_path)
    with lineage.connect(url) as store:
        context_id = seed_sweep(store)
    page = tmp_path / "sweep.html"
    result = run("graph", "--context", str(context_id), "--db", url, "-o", str(page), "--json")
    assert result.code == 0, result.err
    assert result.json()["artifacts"] + result.json()["executions"] == 200

    profile = tmp_path / "chromium-profile"
    base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Boxes()
    parsed.feed(dom.stdout)

    assert len(parsed.nodes) == 200
    assert len({n["key"] for n in parsed.nodes}) == 200
    assert sum(n["key"].startswith("artifact:") for n in parsed.nodes) == 100
    # The page's script ran in the browser: it set the zoom level it starts at.
    assert parsed.zoom_level.endswith("%") and parsed.zoom_level != ""
    details = json.loads(parsed.details_json)
    assert len(details) == 200 and details["artifact:1"]["uri"] == "/data/vocabulary"
    text = " ".join(parsed.texts)
    for label in ("Vocabulary", "RawData", "Model", "Metrics", "Ingest", "Train", "Evaluate",
                  "/data/raw/day-32", "/models/day-07", "A100", "E100", "LIVE", "COMPLETE", "FAILED", "DELETED"):
        assert label in text, label
    assert {n["state"] for n in parsed.nodes} == {"LIVE", "DELETED", "COMPLETE", "FAILED"}
    assert all("faded" in n["classes"] for n in parsed.nodes if n["state"] == "DELETED")
    boxes = [n["box"] for n in parsed.nodes]
    clashes = [(parsed.nodes[i]["key"], parsed.nodes[j]["key"])
               for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if _overlaps(boxes[i], boxes[j])]
    assert clashes == []

    shot = tmp_path / "sweep.png"
    done = subprocess.run([*base, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, rows = _png_pixels(shot)
    assert (width, height) == WINDOW
    # A drawing, not a blank page: many pixels are neither white nor near-white.
    inked = sum(1 for row in rows for i in range(0, len(row), 3) if min(row[i:i + 3]) < 200)
    assert inked > 0.05 * width * height
    # Drawn all over the window, not only where the first tiles were painted.
    half_w, half_h = width // 2, height // 2
    for top in (0, half_h):
        for left in (0, half_w):
            quadrant = sum(1 for row in rows[top:top + half_h] for i in range(3 * left, 3 * (left + half_w), 3)
                           if min(row[i:i + 3]) < 200)
            assert quadrant > 0.01 * half_w * half_h, (top, left)
    # The artifact fill (#e8f1fb) and the execution band (#c25100) are both on screen.
    colours = {row[i:i + 3] for row in rows[::4] for i in range(0, len(row), 12)}
    assert bytes.fromhex("e8f1fb") in colours and bytes.fromhex("c25100") in colours
    keep = os.environ.get("LINEAGE_KEEP_SCREENSHOTS")
    if keep:
        shutil.copy(shot, os.path.join(keep, "sweep-200.png"))
        shutil.copy(page, os.path.join(keep, "sweep-200.html"))


def _open_in_chromium(chromium, page, tmp_path, name: str, fragment: str = ""):
    """The page's DOM after its script ran, and a screenshot of its first view."""
    base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}"]
    address = page.as_uri() + fragment
    dom = subprocess.run([*base, "--dump-dom", address], capture_output=True, text=True, timeout=300)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Boxes()
    parsed.feed(dom.stdout)
    shot = tmp_path / f"{name}.png"
    done = subprocess.run([*base, f"--screenshot={shot}", address], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    keep = os.environ.get("LINEAGE_KEEP_SCREENSHOTS")
    if keep:
        shutil.copy(shot, os.path.join(keep, f"{name}.png"))
    return parsed, _png_pixels(shot)


def _halo_pixels(rows, top: int = 0) -> list[tuple[int, int]]:
    """Where the queried node's halo colour (#ffd54f) shows in a screenshot, as (x, y)."""
    halo = bytes.fromhex("ffd54f")
    return [(i // 3, y) for y, row in enumerate(rows[top:], start=top) for i in range(0, len(row), 3)
            if row[i:i + 3] == halo]


def test_the_demo_picture_opens_fitted_with_its_answer_in_view(chromium, tmp_path, run):
    page = tmp_path / "demo.html"
    assert run("demo", "-o", str(page)).code == 0
    parsed, (width, height, rows) = _open_in_chromium(chromium, page, tmp_path, "demo")
    text = " ".join(parsed.texts)
    # Artifact 17 and execution 17 carry different labels; the legend names what is drawn only.
    labels = {n["key"]: n for n in parsed.nodes}
    assert "A17" in text and "E17" in text and "#17" not in text
    assert "cycle edge" not in text and "artifact A<id>" in text and "execution E<id>" in text
    # The long history is wrapped into bands that fill the window: the whole drawing fits at the
    # scale the page chose, which is larger than 100%, and it uses most of the window's width and
    # height, so the raw data of both days (A1, A14), the first steps and the model are on screen.
    scale = int(parsed.zoom_level.rstrip("%")) / 100
    assert 1 < scale <= 1.5
    boxes = {n["key"]: n["box"] for n in parsed.nodes}
    right = max(x + w for x, _, w, _ in boxes.values())
    bottom = max(y + h for _, y, _, h in boxes.values())
    assert 0.6 * width <= right * scale <= width
    assert 0.5 * (height - 118) <= bottom * scale <= height - 80
    assert len({y for _, y, _, _ in boxes.values()}) >= 3  # more than one row of boxes
    assert {"artifact:1", "artifact:14", "execution:1", "execution:2", "artifact:17"} <= set(labels)
    inked_rows = [y for y, row in enumerate(rows) if any(min(row[i:i + 3]) < 200 for i in range(0, len(row), 3))]
    assert max(inked_rows) > 0.6 * height
    # The model the demo asks about wears the halo, and it is in the first screenshot.
    halo = _halo_pixels(rows)
    assert len(halo) > 200
    model_x = (boxes["artifact:17"][0] + 95) * scale
    assert all(abs(x - model_x) < 120 * scale + 10 for x, _ in halo)


def test_a_1000_node_picture_is_usable(chromium, request, tmp_path, run):
    url = make_store_url("memory", request, tmp_path)
    with lineage.connect(url) as store:
        seed_sweep(store, chains=250)
    page = tmp_path / "big.html"
    result = run("graph", "1", "--down", "--db", url, "-o", str(page), "--json")
    assert result.code == 0, result.err
    assert result.json()["artifacts"] + result.json()["executions"] == 1001
    parsed, (width, height, rows) = _open_in_chromium(chromium, page, tmp_path, "big-1000")
    assert len(parsed.nodes) == 1001
    # No two boxes overlap (checked column by column: boxes share x exactly within a column).
    columns: dict[float, list] = {}
    for node in parsed.nodes:
        columns.setdefault(node["box"][0], []).append(node["box"])
    for boxes in columns.values():
        boxes.sort(key=lambda b: b[1])
        assert all(a[1] + a[3] <= b[1] for a, b in zip(boxes, boxes[1:]))
    xs = sorted(columns)
    assert all(b - a >= columns[a][0][2] for a, b in zip(xs, xs[1:]))  # columns never touch
    assert max(len(c) for c in columns.values()) == 250
    # Legible (not shrunk to fit), and the queried vocabulary (A1) is in the first screenshot.
    assert parsed.zoom_level == "100%"
    assert "Vocabulary" in " ".join(parsed.texts)
    halo = _halo_pixels(rows)
    assert len(halo) > 200
    assert all(x < 300 for x, _ in halo)


def seed_chains(store, branches: int = 25, steps: int = 20) -> None:
    """``branches`` histories of ``steps`` one-in, one-out steps, each starting from a vocabulary.

    Artifact 1 is the vocabulary; every fifth branch reads it again at step 10, so its
    straight run is broken in two there. 1 + branches * steps * 2 nodes in all.
    """
    data = store.put_artifact_type(pb.ArtifactType(name="Data"))
    [vocabulary] = store.put_artifacts([pb.Artifact(type_id=store.put_artifact_type(pb.ArtifactType(name="Vocabulary")),
                                                    uri="/data/vocabulary", state=pb.Artifact.LIVE)])
    kinds = [store.put_execution_type(pb.ExecutionType(name=f"Step{i:02d}")) for i in range(steps)]
    for branch in range(branches):
        previous = vocabulary
        for step in range(steps):
            inputs = [previous] + ([vocabulary] if step == 10 and branch % 5 == 0 else [])
            pairs = [(store.get_artifacts_by_id([a])[0], pb.Event(type=pb.Event.INPUT)) for a in inputs]
            pairs.append((pb.Artifact(type_id=data, uri=f"/branch-{branch:02d}/step-{step:02d}", state=pb.Artifact.LIVE),
                          pb.Event(type=pb.Event.OUTPUT)))
            _, ids, _ = store.put_execution(
                pb.Execution(type_id=kinds[step], last_known_state=pb.Execution.COMPLETE), pairs, [])
            previous = ids[-1]


def test_a_1000_node_history_folds_its_straight_runs(chromium, request, tmp_path, run):
    url = make_store_url("memory", request, tmp_path)
    with lineage.connect(url) as store:
        seed_chains(store)
    page = tmp_path / "chains.html"
    result = run("graph", "1", "--down", "--db", url, "-o", str(page), "--json")
    assert result.code == 0, result.err
    assert result.json()["artifacts"] + result.json()["executions"] == 1001
    parsed, (width, height, rows) = _open_in_chromium(chromium, page, tmp_path, "chains-1000")
    # Two views: the folded picture shown first, every node hidden until asked for.
    assert [v["view"] for v in parsed.views] == ["folded", "all"]
    assert "none" not in parsed.views[0]["style"] and "display: none" in parsed.views[1]["style"]
    shown = [n for n in parsed.nodes if n["view"] == "folded"]
    every = [n for n in parsed.nodes if n["view"] == "all"]
    assert len(every) == 1001 and len({n["key"] for n in every}) == 1001
    # Nothing silently dropped: each node is drawn or counted in exactly one fold.
    assert len(shown) + sum(f["size"] for f in parsed.folds) == 1001
    assert len(shown) + len(parsed.folds) < 100
    assert {f["size"] for f in parsed.folds} == {39, 20, 18}
    # No two boxes of the folded picture overlap.
    boxes = [n["box"] for n in shown] + [f["box"] for f in parsed.folds]
    assert all(not _overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # Legible, and the queried vocabulary (A1) wears the halo in the first screenshot.
    assert int(parsed.zoom_level.rstrip("%")) >= 100
    assert "39 nodes folded" in " ".join(parsed.texts)
    halo = _halo_pixels(rows)
    assert len(halo) > 200 and all(x < 300 for x, _ in halo)

    # A fold opens (a click sets the address's fragment): every node at 100%, its first node
    # marked and in the first screenshot.
    fold = parsed.folds[3]
    opened, (_, _, rows) = _open_in_chromium(chromium, page, tmp_path, "chains-open", "#" + fold["key"])
    assert "display: none" in opened.views[0]["style"] and "none" not in opened.views[1]["style"]
    assert opened.zoom_level == "100%"
    [marked] = [n for n in opened.nodes if "match" in n["classes"]]
    assert marked["key"] == fold["first"] and marked["view"] == "all"
    magenta = bytes.fromhex("d500f9")
    assert sum(row[i:i + 3] == magenta for row in rows for i in range(0, len(row), 3)) > 200
