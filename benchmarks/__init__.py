"""The throughput benchmark (benchmarks/bench.py, its command line) and its parts:

  naive      the authors'-style pipeline: JPEGs decoded and degraded per image in DataLoader workers
  peak       the reference rate: the card's bf16 peak by name, or the CPU's measured convolution rate
  pipelines  one model's pipelines side by side and their timing loops, FLOPs, speed-ups
  report     the JSON record and the Markdown page

The timing itself (device synchronisation, timed steps and calls, peak memory) is sgenlib.timing.
"""
