"""Understanding benchmark (issue 13): the time to read one message, for canonical commands and for free
sentences, and what the language layer adds to the start-up of `zsbot`.

    python -m bench.understand [--quick] [--repeat 200]

The messages are the corpus of tests/corpus/messages.txt (about 530 as squads write them), split into
canonical commands (a verb first) and the rest (free sentences, questions, verbs after the subject).
Each is read `--repeat` times by `handlers.understand.reader.understand` (normalise, split, the grammar,
the checks, and for the rest the sentence reader), and p50/p99 per message are printed. The baseline,
measured in the same run, is the grammar alone (`handlers.parse.parse`, what the bot ran before this
issue) on the canonical commands: the ratio is what understanding costs on top of it.

Start-up: each import is timed in a fresh interpreter (median of 5): `bot.cli` (what `zsbot run` loads)
and the language modules on their own, plus the first call that loads the places list (lazily).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date

from bench import common
from handlers.catalog import load_catalog
from handlers.parse import parse
from handlers.understand.reader import understand
from handlers.understand.segments import starts_command
from tests.corpus_support import load_cases

TODAY = date(2026, 11, 24)
GOAL_CANONICAL_P99_MS = 5.0
GOAL_FREE_P99_MS = 20.0
GOAL_IMPORT_S = 0.3


def _times(messages: Sequence[str], read: Callable[[str], object], repeat: int) -> list[float]:
    """Milliseconds per read: every message `repeat` times, in rounds (so caches warm evenly)."""
    for text in messages:  # warm-up: compiled patterns, the places list, cn2an's caches
        read(text)
    samples: list[float] = []
    for _ in range(repeat):
        for text in messages:
            start = time.perf_counter()
            read(text)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


# The modules this issue added (or, for amounts, grew): what the language layer costs at start-up.
LANGUAGE_MODULES = (
    "handlers.understand", "handlers.understand.words", "handlers.understand.reading",
    "handlers.understand.guards", "handlers.understand.segments", "handlers.understand.sentence",
    "handlers.understand.questions", "handlers.understand.corrections", "handlers.understand.reader",
    "handlers.dates", "handlers.holidays", "handlers.places", "handlers.amounts", "handlers.choices",
    "handlers.command_json", "handlers.proposals", "handlers.refusal", "handlers.records", "handlers.resolve",
    "handlers.undo", "handlers.problem_match", "handlers.period_report",
)


def _import_profile(runs: int = 3) -> tuple[float, dict[str, float]]:
    """`import bot.cli` in fresh interpreters (-X importtime): its total seconds and each language module's
    own seconds (medians over `runs`)."""
    totals: list[float] = []
    own: dict[str, list[float]] = {name: [] for name in LANGUAGE_MODULES}
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import bot.cli"], check=True,
                              capture_output=True, text=True)
        for line in done.stderr.splitlines():
            parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
            if len(parts) != 3 or not parts[0].isdigit():
                continue
            self_us, cumulative_us, name = int(parts[0]), int(parts[1]), parts[2]
            if name in own:
                own[name].append(self_us / 1e6)
            if name == "bot.cli":
                totals.append(cumulative_us / 1e6)
    return statistics.median(totals), {name: statistics.median(v) for name, v in own.items() if v}


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    repeat = 10 if args.quick else args.repeat
    catalog = load_catalog()
    names = ["招商助手", "zsbot"]
    messages = sorted({case.message for case in load_cases()})
    canonical = [m for m in messages if starts_command(m)]
    free = [m for m in messages if not starts_command(m)]

    def read(text: str) -> object:
        return understand(text, catalog=catalog, usd_rate=7.1, bot_names=names, today=TODAY)

    def grammar(text: str) -> object:
        return parse(text, catalog=catalog, usd_rate=7.1, bot_names=names, today=TODAY)

    print(common.machine_line())
    print(f"{len(canonical)} canonical commands, {len(free)} free sentences and questions, {repeat} reads each\n")
    baseline = _times(canonical, grammar, repeat)
    rows = []
    for label, group in (("canonical", canonical), ("free", free)):
        samples = _times(group, read, repeat)
        rows.append([label, len(group), f"{common.median(samples):.3f}", f"{common.percentile(samples, 99):.3f}",
                     f"{max(samples):.2f}"])
        if label == "canonical":
            ratio = common.median(samples) / common.median(baseline)
            p99_ratio = common.percentile(samples, 99) / common.percentile(baseline, 99)
    rows.append(["baseline: grammar only (canonical)", len(canonical), f"{common.median(baseline):.3f}",
                 f"{common.percentile(baseline, 99):.3f}", f"{max(baseline):.2f}"])
    print(common.table(["messages", "count", "p50 ms", "p99 ms", "max ms"], rows))
    print(f"\ncanonical: understanding costs {ratio:.2f}× the grammar alone at p50, {p99_ratio:.2f}× at p99 "
          f"(goal: p99 under {GOAL_CANONICAL_P99_MS} ms); free sentences: goal p99 under {GOAL_FREE_P99_MS} ms")

    total, own = _import_profile()
    timing = ("import time, handlers.places as p; t = time.perf_counter(); p.find_places('今天去深圳拜访比亚迪'); "
              "print(time.perf_counter() - t)")
    first_use = statistics.median(
        float(subprocess.run([sys.executable, "-c", timing], check=True, capture_output=True, text=True).stdout)
        for _ in range(3))
    language = sum(own.values())
    print("\nstart-up: `import bot.cli` (what zsbot run loads), -X importtime, median of 3")
    slowest = sorted(own.items(), key=lambda item: -item[1])[:5]
    print(common.table(["what", "seconds"], [
        ["import bot.cli, everything", f"{total:.3f}"],
        [f"the {len(own)} language modules' own import time", f"{language:.3f}"],
        *[[f"  of which {name}", f"{seconds:.3f}"] for name, seconds in slowest],
        ["first use of the places list (loaded lazily, about)", f"{first_use:.3f}"],
    ]))
    print(f"the language layer adds {language:.3f} s to zsbot's start-up ({language / total:.1%} of it; goal under "
          f"{GOAL_IMPORT_S} s); no new library is imported (jionlp was measured and not used)")


if __name__ == "__main__":
    main()
