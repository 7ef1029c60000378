"""Two runs side by side: which metrics moved, which questions flipped."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.evals.runner import LOWER_IS_BETTER, CaseResult, EvalResult

MOVE = 0.005  # smaller differences are noise on suites of this size


@dataclass
class MetricMove:
    group: str
    metric: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else round(self.b - self.a, 4)

    @property
    def better(self) -> bool:
        d = self.delta or 0.0
        return d < 0 if self.metric in LOWER_IS_BETTER else d > 0


@dataclass
class Flip:
    id: str
    question: str
    what: str  # e.g. "correct", "abstained", "recall@5"
    a: object
    b: object
    improved: bool


@dataclass
class Comparison:
    a: EvalResult
    b: EvalResult
    moved: list[MetricMove] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)


def compare(a: EvalResult, b: EvalResult, groups: tuple[str, ...] = ("all", "split:test")) -> Comparison:
    out = Comparison(a, b)
    for group in groups:
        fa, fb = a.figures(group), b.figures(group)
        for metric in sorted(set(fa) | set(fb), key=lambda m: list(fa).index(m) if m in fa else 99):
            va, vb = fa.get(metric), fb.get(metric)
            if metric in ("cases", "answerable", "unanswerable"):
                continue
            if not isinstance(va, int | float) and not isinstance(vb, int | float):
                continue
            # timings wander run to run: only a 10 % change is news
            noise = max(MOVE, 0.1 * abs(va or 0)) if metric.startswith(("latency", "retrieval_p")) \
                else MOVE
            if va is None or vb is None or abs(vb - va) >= noise:
                out.moved.append(MetricMove(group, metric, va, vb))
    cases_a = {c.id: c for c in a.cases}
    cases_b = {c.id: c for c in b.cases}
    out.only_a = sorted(set(cases_a) - set(cases_b))
    out.only_b = sorted(set(cases_b) - set(cases_a))
    for cid in [c.id for c in b.cases if c.id in cases_a]:
        out.flips.extend(_flips(cases_a[cid], cases_b[cid]))
    return out


def _verdict(case: CaseResult) -> tuple[str, bool | None]:
    if case.error:
        return "error", False
    if case.answerable:
        return "correct", bool(case.metrics.get("correct"))
    return "abstained", bool(case.metrics.get("abstention_correct"))


def _flips(ca: CaseResult, cb: CaseResult) -> list[Flip]:
    flips = []
    what, va = _verdict(ca)
    _, vb = _verdict(cb)
    if va != vb:
        flips.append(Flip(cb.id, cb.question, what, va, vb, bool(vb)))
    ra, rb = ca.metrics.get("recall@5"), cb.metrics.get("recall@5")
    if ra is not None and rb is not None and (ra > 0) != (rb > 0):
        flips.append(Flip(cb.id, cb.question, "found@5", ra > 0, rb > 0, rb > 0))
    return flips
