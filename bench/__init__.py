"""The kiosk's benchmarks (issue 2, "Tests and numbers"): ``make bench`` = ``python -m bench``.

Each benchmark times one thing the kiosk must do fast and measures, in the same run and on the
same file system, the floor it stands on (a raw fdatasync, a raw sqlite commit, a dict lookup,
a bare interpreter start, a raw insert). It returns one JSON-able dict::

    {"name", "figures": {...}, "floor": {...}, "ratio": primary ratio, "ratios": {...},
     "goal": "text", "met": bool, "params": {...}}

``bench.suite`` runs them and assembles the document; ``python -m bench`` is the command line;
docs/benchmarks.md explains each figure and keeps the last measured numbers. Speed goals live
here, never as timed assertions in tests.
"""
