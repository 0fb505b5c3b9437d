#!/usr/bin/python3
"""A steady CPU load that stands in for the flood's bot clients: busy DUTY
of every millisecond, sleeping the rest, for at most SECONDS.
Usage: cpu_load.py DUTY SECONDS"""
import sys
import time

duty, end = float(sys.argv[1]), time.monotonic() + float(sys.argv[2])
if not 0 < duty < 1:
    sys.exit("cpu_load.py: DUTY must be between 0 and 1")
while (t := time.monotonic()) < end:
    while time.monotonic() - t < duty / 1000:
        pass
    time.sleep((1 - duty) / 1000)
