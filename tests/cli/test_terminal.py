"""The ``lineage`` command as a person sees it: in a real terminal (tmux), at 80 and 120 columns.

Each test starts its own tmux server (its own socket), runs the command in a
pane of a given size, waits for it to finish and reads the screen back with
``capture-pane``. Lines are compared as tmux shows them, so a value split
across two lines or a line wider than the pane (which the terminal had to wrap) is caught as a person would see it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

import lineage
from lineage.proto import metadata_store_pb2 as pb

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

_DONE = "__lineage_done__"


class Terminal:
    """One tmux pane running one shell command at a time."""

    def __init__(self, width: int, height: int, env: dict[str, str]):
        self.socket = f"lineage-test-{uuid.uuid4().hex[:10]}"
        self.width, self.height = width, height
        environment = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self._tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                   f"env -u LINEAGE_DB TERM=xterm-256color {environment} bash --norc --noprofile")
        self._tmux("set-option", "-g", "history-limit", "50000")

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def run(self, command: str, timeout: float = 120) -> list[str]:
        """Runs ``command`` in the pane; returns the screen lines it printed."""
        # Markers unique to this run, typed split in two so only the shell's output has them whole.
        self.runs = getattr(self, "runs", 0) + 1
        start, done = f"{_DONE.replace('done', 'start')}{self.runs}", f"{_DONE}{self.runs}"
        self._tmux("send-keys", "-t", "t", f"clear; tmux clear-history; echo {start[:5]}''{start[5:]}; "
                   f"{command}; echo {done[:5]}''{done[5:]} $?", "Enter")
        deadline = time.monotonic() + timeout
        while True:
            lines = self.capture()
            if any(done + " " in line for line in lines):
                break
            assert time.monotonic() < deadline, "\n".join(lines)
            time.sleep(0.2)
        first = max(i for i, line in enumerate(lines) if line == start) + 1
        last = max(i for i, line in enumerate(lines) if done + " " in line)
        # Output that does not end its last line would leave the marker mid-line.
        assert lines[last].startswith(done + " "), lines[last]
        self.exit_code = int(lines[last].split()[1])
        return lines[first:last]

    def capture(self) -> list[str]:
        """Every line of the pane and its scroll-back; a line the terminal wrapped comes back whole.

        So a line longer than the pane is width means the terminal had to wrap it.
        """
        text = self._tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-")
        return [line.rstrip() for line in text.rstrip("\n").split("\n")]

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=60)


@pytest.fixture
def terminal():
    """Opens terminals of a given width; closes them after the test."""
    opened: list[Terminal] = []
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}

    def open_(width: int, height: int = 60) -> Terminal:
        term = Terminal(width, height, env)
        opened.append(term)
        return term

    yield open_
    for term in opened:
        term.close()


def lineage_command(*args: str) -> str:
    return " ".join(shlex.quote(a) for a in (sys.executable, "-m", "lineage.cli", *args))


def write_chain(store, steps: int, uri_prefix: str = "/chain/step") -> None:
    """A1 -> E1 -> A2 -> ... -> E<steps> -> A<steps+1>: one straight line of ``steps`` executions."""
    data = store.put_artifact_type(pb.ArtifactType(name="Data"))
    step = store.put_execution_type(pb.ExecutionType(name="Step"))
    artifacts = store.put_artifacts([pb.Artifact(type_id=data, uri=f"{uri_prefix}/{i}", state=pb.Artifact.LIVE)
                                     for i in range(1, steps + 2)])
    executions = store.put_executions([pb.Execution(type_id=step, last_known_state=pb.Execution.COMPLETE)
                                       for _ in range(steps)])
    events = []
    for i, execution in enumerate(executions):
        events.append(pb.Event(artifact_id=artifacts[i], execution_id=execution, type=pb.Event.INPUT,
                               path=pb.Event.Path(steps=[pb.Event.Path.Step(key="input")])))
        events.append(pb.Event(artifact_id=artifacts[i + 1], execution_id=execution, type=pb.Event.OUTPUT,
                               path=pb.Event.Path(steps=[pb.Event.Path.Step(key="output")])))
    for start in range(0, len(events), 1000):
        store.put_events(events[start:start + 1000])


def write_fan(store, readers: int) -> None:
    """One dataset A1 read by ``readers`` executions, each writing one model with a long uri."""
    data = store.put_artifact_type(pb.ArtifactType(name="Dataset"))
    model = store.put_artifact_type(pb.ArtifactType(name="Model"))
    train = store.put_execution_type(pb.ExecutionType(name="Train"))
    [source] = store.put_artifacts([pb.Artifact(type_id=data, uri="/data/shared/source", state=pb.Artifact.LIVE)])
    for i in range(readers):
        outputs = store.put_artifacts([pb.Artifact(
            type_id=model, state=pb.Artifact.LIVE,
            uri=f"gs://a-rather-long-bucket-name/experiments/sweep-{i:03d}/models/final/saved_model")])
        [run] = store.put_executions([pb.Execution(type_id=train, last_known_state=pb.Execution.COMPLETE)])
        store.put_events([pb.Event(artifact_id=source, execution_id=run, type=pb.Event.INPUT),
                          pb.Event(artifact_id=outputs[0], execution_id=run, type=pb.Event.OUTPUT)])


@pytest.fixture
def chain_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'chain.sqlite'}"
    store = lineage.connect(url)
    try:
        write_chain(store, 40)
    finally:
        store.close()
    return url


@pytest.fixture
def fan_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'fan.sqlite'}"
    store = lineage.connect(url)
    try:
        write_fan(store, 60)
    finally:
        store.close()
    return url


_TOKEN = re.compile(r"\b[AE]\d+\b")

CHAIN_DOWN = [
    "A1 Data /chain/step/1 LIVE",
    "→ input E1 Step COMPLETE",
    "┆ 77 more in a straight line (A2 … A40): --expand shows them",
    "→ input E40 Step COMPLETE",
    "→ output A41 Data /chain/step/41 LIVE",
    "81 nodes downstream: 4 shown, 77 folded (the ┆ lines say how to see them)",
]


def tokens(lines: list[str]) -> list[str]:
    """The node ids drawn on node lines (fold lines only name the ends of what they hold)."""
    return [t for line in lines if "┆" not in line for t in _TOKEN.findall(line)]


def assert_fits(lines: list[str], width: int) -> None:
    for line in lines:
        assert len(line) <= width, line


@pytest.mark.parametrize("width", [80, 120])
def test_a_40_step_chain_folds_into_a_path(terminal, chain_db, width):
    term = terminal(width)
    lines = term.run(lineage_command("trace", "1", "--down", "--db", chain_db))
    assert term.exit_code == 0, lines
    # The run stays at one indentation: its two first nodes, the fold, its two last nodes.
    assert lines == CHAIN_DOWN


@pytest.mark.parametrize("width", [80, 120])
def test_expand_shows_every_step_without_indenting(terminal, chain_db, width):
    term = terminal(width)
    lines = term.run(lineage_command("trace", "1", "--down", "--expand", "--db", chain_db))
    assert term.exit_code == 0
    assert_fits(lines, width)
    assert tokens(lines) == ["A1"] + [t for i in range(1, 41) for t in (f"E{i}", f"A{i + 1}")]
    assert lines[39] == "→ input E20 Step COMPLETE" and lines[40] == "→ output A21 Data /chain/step/21 LIVE"
    assert lines[-1] == "81 nodes downstream"


def test_the_same_trace_piped(chain_db):
    def piped(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "lineage.cli", *args, "--db", chain_db], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    assert piped("trace", "1", "--down") == CHAIN_DOWN
    assert piped("trace", "41") == [
        "A41 Data /chain/step/41 LIVE",
        "← output E40 Step COMPLETE",
        "┆ 77 more in a straight line (A40 … A2): --expand shows them",
        "← output E1 Step COMPLETE",
        "← input A1 Data /chain/step/1 LIVE",
        "81 nodes upstream: 4 shown, 77 folded (the ┆ lines say how to see them)",
    ]


@pytest.mark.parametrize("width", [80, 120])
def test_a_wide_fan_out_keeps_ids_and_uris_whole(terminal, fan_db, width):
    term = terminal(width)
    lines = term.run(lineage_command("trace", "1", "--down", "--db", fan_db))
    assert term.exit_code == 0
    assert_fits(lines, width)
    # 25 of the 60 readers are drawn, each with its model on the line below; the rest are counted.
    assert tokens(lines) == ["A1"] + [t for i in range(1, 26) for t in (f"E{i}", f"A{i + 1}")]
    assert lines[1] == "├─ → input E1 Train COMPLETE"
    assert lines[-2] == "└─ ┆ 35 more outputs of A1 (E26 … E60), 70 nodes: --expand shows them"
    assert lines[-1] == "121 nodes downstream: 51 shown, 70 folded (the ┆ lines say how to see them)"
    models = [line for line in lines if " Model " in line]
    assert len(models) == 25
    for number, line in enumerate(models):
        # A uri too long for the line keeps its end after an ellipsis; the id is never cut.
        assert re.fullmatch(rf"│  → output A{number + 2} Model (…\S+|gs://\S+)/sweep-{number:03d}/models/final/"
                            r"saved_model LIVE", line), line
    assert any("…" in line for line in models) is (width < 107)
    everything = term.run(lineage_command("trace", "1", "--down", "--expand", "--db", fan_db))
    assert_fits(everything, width)
    assert len(tokens(everything)) == 121
    assert everything[-1] == "121 nodes downstream"


@pytest.fixture
def demo_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    done = subprocess.run([sys.executable, "-m", "lineage.cli", "demo", "--db", url, "-o", str(tmp_path / "d.html")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return url


def test_tables_keep_uris_whole_at_80_columns(terminal, demo_db):
    term = terminal(80)
    lines = term.run(lineage_command("ls", "artifacts", "--db", demo_db))
    assert term.exit_code == 0
    assert_fits(lines, 80)
    uris = [u for line in lines for u in re.findall(r"/(?:data|models|eval|serving)/\S*", line)]
    assert sorted(uris) == sorted(
        [f"/data/{kind}/day{d}" for kind in ("raw", "stats", "transformed") for d in (1, 2, 3)]
        + ["/data/schema"] + [f"/models/day{d}" for d in (1, 2, 3)] + [f"/eval/day{d}" for d in (1, 2, 3)]
        + [f"/serving/taxi/{d}" for d in (1, 2, 3)])
    shown = term.run(lineage_command("show", "artifact", "17", "--db", demo_db))
    assert_fits(shown, 80)
    assert shown[0].startswith("A17 artifact 17  Model")
    assert any(re.search(r"│ INPUT +│ E18 +│ Evaluator", line) for line in shown), shown


def test_graph_in_a_terminal_writes_a_file_named_after_the_node(terminal, demo_db, tmp_path):
    term = terminal(200)
    folder = tmp_path / "pictures"
    folder.mkdir()
    lines = term.run(f"cd {shlex.quote(str(folder))} && " + lineage_command("graph", "17", "--db", demo_db))
    assert term.exit_code == 0
    picture = folder / "provenance-A17.html"
    assert lines == [f"wrote 6 artifacts, 6 executions and 12 events as html to {picture}"]
    assert picture.read_text().startswith("<!DOCTYPE html>")
    lines = term.run(f"cd {shlex.quote(str(folder))} && " + lineage_command("graph", "8", "--down", "--format", "dot",
                                                                              "--db", demo_db))
    assert lines[0].endswith(f"as dot to {folder / 'downstream-A8.dot'}")
    assert (folder / "downstream-A8.dot").read_text().startswith("digraph")
    as_json = term.run(lineage_command("graph", "17", "--json", "--db", demo_db))
    assert as_json[0] == "{" and as_json[-1] == "}"


def test_version_and_errors_in_a_terminal(terminal):
    term = terminal(80)
    assert term.run(lineage_command("--version")) == [f"lineage {lineage.__version__}"]
    lines = term.run(lineage_command("ls", "artifacts", "--db", "memory://", "--filter", 'uri = "a" AND'))
    assert term.exit_code == 1
    # The caret sits under the end of the query, where it went wrong.
    assert lines[-2:] == ['  uri = "a" AND', " " * 15 + "^"]


def test_long_errors_and_help_wrap_between_words(terminal, chain_db):
    term = terminal(80)
    lines = term.run(lineage_command("graph", "1", "--down", "--max-nodes", "5", "--db", chain_db))
    assert term.exit_code == 3
    # A line the terminal cut at its edge fills all 80 columns; one wrapped between words does not.
    assert len(lines) > 1 and all(len(line) < 80 for line in lines), lines
    assert " ".join(lines).startswith("lineage: ResourceExhaustedError: the answer holds 81 nodes")
    assert "--max-nodes 5" in " ".join(lines)
    for command in ("copy", "impacted", "purge", "trace"):
        lines = term.run(lineage_command(command, "--help"))
        assert term.exit_code == 0
        assert all(len(line) < 80 for line in lines), (command, [x for x in lines if len(x) >= 80])
        assert any("grpcs://host:port?ca=FILE[&cert=FILE&key=FILE]" in line for line in lines), command


def write_comb(store, teeth: int) -> None:
    """A1 -> E1 -> (A2, a side output) -> E2 -> ...: every step branches, so every step indents."""
    data = store.put_artifact_type(pb.ArtifactType(name="Data"))
    step = store.put_execution_type(pb.ExecutionType(name="Step"))
    [current] = store.put_artifacts([pb.Artifact(type_id=data, uri="/comb/0")])
    for i in range(1, teeth + 1):
        [run] = store.put_executions([pb.Execution(type_id=step)])
        # The side output gets the lower id, so it sorts (and is drawn) before the spine.
        side, spine = store.put_artifacts([pb.Artifact(type_id=data, uri=f"/comb/{i}/side-output-with-a-long-name"),
                                           pb.Artifact(type_id=data, uri=f"/comb/{i}")])
        store.put_events([pb.Event(artifact_id=current, execution_id=run, type=pb.Event.INPUT),
                          pb.Event(artifact_id=side, execution_id=run, type=pb.Event.OUTPUT),
                          pb.Event(artifact_id=spine, execution_id=run, type=pb.Event.OUTPUT)])
        current = spine


def test_deep_branching_stays_within_the_width(terminal, tmp_path):
    url = f"sqlite:///{tmp_path / 'comb.sqlite'}"
    store = lineage.connect(url)
    try:
        write_comb(store, 20)
    finally:
        store.close()
    term = terminal(80)
    lines = term.run(lineage_command("trace", "1", "--down", "--db", url))
    assert term.exit_code == 0
    assert_fits(lines, 80)
    # Twelve branch levels are drawn; what lies deeper is counted with the command that shows it.
    assert max(len(line) - len(line.lstrip("│├└─ ")) for line in lines) <= 3 * 12
    # The fold note, too long for what is left of the line, continues below between words.
    fold = [line.split("┆ ", 1) for line in lines[:-1] if "┆" in line]
    assert len({prefix for prefix, _ in fold}) == 1 and len(fold) == 2
    assert " ".join(text for _, text in fold) == (
        "23 more in 2 branches beyond E13: lineage trace 13 --execution --down shows them")
    assert lines[-1] == "61 nodes downstream: 38 shown, 23 folded (the ┆ lines say how to see them)"
    deeper = term.run(lineage_command("trace", "13", "--execution", "--down", "--db", url))
    assert deeper[-1] == "24 nodes downstream"


def test_the_demo_at_80_columns_wraps_between_words(terminal, tmp_path):
    term = terminal(80)
    picture = tmp_path / "demo.html"
    lines = term.run(lineage_command("demo", "-o", str(picture)))
    assert term.exit_code == 0
    assert_fits(lines, 80)
    screen = "\n".join(lines)
    for path in ("/data/raw/day1,", "/data/raw/day3", "/data/transformed/day3", "/models/day2", "/serving/taxi/2",
                 "sqlite:///demo.sqlite"):
        assert path in screen, path
    # The one surprising answer is explained where it is given.
    assert "Why /data/raw/day1 too: SchemaGen ran once, on day 1's statistics" in " ".join(lines)
    # Answers sit under their question: every line between a question and the next one is a
    # table row or indented, wrapped continuations included.
    questions = [i for i, line in enumerate(lines) if line[:2] in ("1.", "2.", "3.")]
    assert len(questions) == 3
    table_rows = ("artifact ", "━", "A")
    for line in lines[questions[0] + 1:lines.index(next(x for x in lines if x.startswith("Picture")))]:
        if line.strip() and line[:2] not in ("2.", "3.") and not line.startswith(table_rows):
            assert line.startswith("   "), line
