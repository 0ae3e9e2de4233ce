"""Rhyme help: how common are the first rhymes a client sees, for three orders of the same rhymes.

Usage: ``PYTHONPATH=src .venv/bin/python bench/song_rhymes.py [--targets 300] [--json]`` (needs the
``words`` extra: wordfreq is both an order under test and the yardstick).

Targets: the most common English words (wordfreq) of 3+ letters that have at least 10 perfect rhymes
in the pronouncing dictionary, leaving out the seven words looked at while choosing the fallback's
suffixes (day, star, grace, sea, heart, night, love). For each target, the first 10 rhymes in each order:
wordfreq's Zipf values (the tool with the extra), the dictionary's word families (the tool without it)
and shortest first (the order before). Figures: mean Zipf of the 10 shown, share of them with Zipf >= 3
(a word met about once a million words or more), and overlap with wordfreq's own first 10.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

TUNED_ON = {"day", "star", "grace", "sea", "heart", "night", "love"}
SHOWN = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from cadenza.io.speech import load_lexicon
    from cadenza.io.word_frequency import load_word_frequencies
    from cadenza.songwriting.lyrics import RhymeIndex, build_rhyme_index, find_rhymes, rank_index

    lexicon = load_lexicon()
    start = time.perf_counter()
    families = build_rhyme_index(lexicon)
    build_s = time.perf_counter() - start
    freq = load_word_frequencies(lexicon.pronunciations)
    if freq is None:
        sys.exit("bench/song_rhymes.py needs wordfreq: pip install -e '.[words]'")
    by_freq = rank_index(families, lexicon, frequency=freq.zipf, frequency_source=freq.source)
    by_length = RhymeIndex(families.words_by_key, families.words_by_vowels, {}, "length")
    orders = {"wordfreq (with the extra)": by_freq, "word families (fallback)": families,
              "shortest first (before)": by_length}
    candidates = sorted((w for w in freq.zipf if len(w) >= 3 and w.isalpha() and w not in TUNED_ON),
                        key=lambda w: -freq.zipf[w])
    targets: list[str] = []
    for word in candidates:
        if len(find_rhymes(word, index=by_freq, lexicon=lexicon, max_words=1000)) >= SHOWN:
            targets.append(word)
        if len(targets) == args.targets:
            break
    rows = []
    for name, index in orders.items():
        zipf, common, overlap = [], [], []
        for word in targets:
            shown = find_rhymes(word, index=index, lexicon=lexicon, max_words=SHOWN)
            best = set(find_rhymes(word, index=by_freq, lexicon=lexicon, max_words=SHOWN))
            z = [freq.zipf.get(w, 0.0) for w in shown]
            zipf.append(statistics.mean(z))
            common.append(sum(v >= 3.0 for v in z) / len(z))
            overlap.append(len(best & set(shown)) / len(shown))
        rows.append({"order": name, "targets": len(targets), "mean_zipf_first10": round(statistics.mean(zipf), 2),
                     "common_share_first10": round(statistics.mean(common), 3),
                     "overlap_with_wordfreq_first10": round(statistics.mean(overlap), 3)})
    if args.json:
        print(json.dumps({"rows": rows, "frequency_source": freq.source, "index_build_s": round(build_s, 2)}, indent=2))
        return
    print(f"targets: {len(targets)} common words with >= {SHOWN} rhymes; yardstick {freq.source}")
    print("| order | mean Zipf of the first 10 | share with Zipf >= 3 | overlap with wordfreq's first 10 |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['order']} | {r['mean_zipf_first10']} | {100 * r['common_share_first10']:.1f} % | "
              f"{100 * r['overlap_with_wordfreq_first10']:.1f} % |")
    print(f"index built in {build_s:.1f} s (without the frequency list)")


if __name__ == "__main__":
    main()
