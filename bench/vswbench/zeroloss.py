"""The zero-loss throughput search (RFC 2544, section 26.1): the highest offered rate whose
loss stays within a tolerance, by binary search between 0 and the most the generator can offer.
`trial(rate)` runs one trial and returns (loss in percent, whatever the caller keeps of it)."""


def search(trial, max_rate, resolution_pct=1.0, tolerance_pct=0.0, max_trials=12):
    """Returns {"rate": the highest passing rate (0 if none), "trials": [(rate, loss, kept)],
    "bounded": True when it stopped at max_trials before reaching the resolution}.
    The first trial is at max_rate: a switch that loses nothing there is not searched."""
    trials = []

    def run(rate):
        loss, kept = trial(rate)
        trials.append((rate, loss, kept))
        return loss <= tolerance_pct

    if max_rate <= 0:
        return {"rate": 0.0, "trials": trials, "bounded": False}
    if run(max_rate):
        return {"rate": max_rate, "trials": trials, "bounded": False}
    lo, hi = 0.0, float(max_rate)
    step = max_rate * resolution_pct / 100.0
    while hi - lo > step:
        if len(trials) >= max_trials:
            return {"rate": lo, "trials": trials, "bounded": True}
        mid = (lo + hi) / 2
        if run(mid):
            lo = mid
        else:
            hi = mid
    return {"rate": lo, "trials": trials, "bounded": False}
