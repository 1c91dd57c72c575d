"""Checks of the study's identity, arms, randomization and analysis plan."""

from __future__ import annotations

from edc.items.model import Item
from edc.library import Library
from edc.located_yaml import Reporter
from edc.protocol import forms as protocol_forms
from edc.protocol import timeline
from edc.protocol.model import Protocol, StratificationFactor, StratumSource


def check(protocol: Protocol, library: Library, report: Reporter) -> None:
    report.duplicates(("study", "sites"), (site.id for site in protocol.study.sites), "site")
    report.duplicates(("arms",), (arm.id for arm in protocol.arms), "arm")
    _check_amendments(protocol, report)
    _check_randomization(protocol, library, report)
    _check_endpoints(protocol, library, report)
    _check_analysis_additions(protocol, report)


def _check_amendments(protocol: Protocol, report: Reporter) -> None:
    amendments = protocol.study.amendments
    if amendments and amendments[-1].version != protocol.study.version:
        report.add(
            ("study", "amendments", len(amendments) - 1, "version"),
            f"the newest amendment is version {amendments[-1].version} but study.version is "
            f"{protocol.study.version}: an amended protocol names its own version last",
        )
    for index in range(1, len(amendments)):
        if amendments[index].date < amendments[index - 1].date:
            report.add(("study", "amendments", index, "date"), "amendments must be in date order")


def _check_randomization(protocol: Protocol, library: Library, report: Reporter) -> None:
    randomization = protocol.randomization
    arm_ids = {arm.id for arm in protocol.arms}
    for arm_id in randomization.ratio:
        if arm_id not in arm_ids:
            report.add(
                ("randomization", "ratio", arm_id),
                f"the allocation ratio names arm {arm_id!r}, which is not defined in arms "
                f"(arms: {', '.join(sorted(arm_ids))})",
            )
    for index, arm in enumerate(protocol.arms):
        if arm.id not in randomization.ratio:
            report.add(
                ("arms", index, "id"), f"arm {arm.id!r} has no weight in randomization.ratio"
            )
    _check_method(protocol, report)
    if randomization.blinding == "open-label" and randomization.blinded_roles:
        report.add(("randomization", "blinded_roles"), "an open-label study blinds no one")
    report.duplicates(
        ("randomization", "stratify_by"), (f.id for f in randomization.stratify_by), "factor"
    )
    forms = {form.id: form for form in protocol.forms}
    for index, factor in enumerate(randomization.stratify_by):
        path = ("randomization", "stratify_by", index)
        if factor.kind == "site":
            if factor.levels or factor.source:
                report.add(path, "a site factor takes its levels from study.sites; remove levels")
            continue
        if len(factor.levels) < 2:
            report.add((*path, "levels"), "a protocol factor needs at least two levels")
        if factor.source is None:
            report.add(path, "a protocol factor needs a source (form and item) for its level")
            continue
        form = forms.get(factor.source.form)
        if form is None:
            report.add((*path, "source", "form"), f"unknown form {factor.source.form!r}")
            continue
        content = protocol_forms.form_content(form, library)
        item = next(
            (i for i in protocol_forms.walk_items(content.items) if i.id == factor.source.item),
            None,
        )
        if item is None:
            report.add(
                (*path, "source", "item"), f"form {form.id!r} has no item {factor.source.item!r}"
            )
        elif factor.source.bands or factor.source.map:
            _check_derived(report, path, factor, factor.source, item)
            if not _collected_before_randomization(protocol, form.id):
                report.add(
                    (*path, "source", "form"),
                    f"form {form.id!r} is not collected at a visit before randomization (event "
                    f"{randomization.event!r}), so its answer cannot stratify",
                )
        elif item.type != "choice":
            report.add(
                (*path, "source", "item"),
                f"a stratification item must be a choice item coded with the levels, or give "
                f"bands (a number) or map (a {item.type} answer) to derive the level",
            )
        elif not _collected_before_randomization(protocol, form.id):
            report.add(
                (*path, "source", "form"),
                f"form {form.id!r} is not collected at a visit before randomization (event "
                f"{randomization.event!r}), so its answer cannot stratify",
            )
        else:
            codes = {option.code for option in item.options}
            for level_index, level in enumerate(factor.levels):
                if level not in codes:
                    report.add(
                        (*path, "levels", level_index),
                        f"level {level!r} is not an answer of {form.id}.{item.id} "
                        f"({', '.join(sorted(codes))})",
                    )


def _check_derived(
    report: Reporter,
    path: tuple[str | int, ...],
    factor: StratificationFactor,
    source: StratumSource,
    item: Item,
) -> None:
    """A level derived from an item: bands over a number, or a map over a code or boolean;
    every level it gives is a level of the factor, and every level is given."""
    where = (*path, "source")
    given: list[str] = []
    if source.bands and source.map:
        report.add(where, "give bands (a number) or map (an answer), not both")
        return
    if source.bands:
        if item.type not in ("integer", "decimal"):
            report.add((*where, "bands"), f"bands derive a level from a number; {item.id!r} "
                       f"is a {item.type} item (use map)")  # fmt: skip
            return
        limits = [band.below for band in source.bands]
        if limits[-1] is not None or any(limit is None for limit in limits[:-1]):
            report.add((*where, "bands"), "every band but the last needs below; the last takes "
                       "the rest (no below)")  # fmt: skip
        numbers = [limit for limit in limits if limit is not None]
        if numbers != sorted(set(numbers)):
            report.add((*where, "bands"), "bands must be in increasing order of below")
        given = [band.level for band in source.bands]
        for index, band in enumerate(source.bands):
            if band.level not in factor.levels:
                report.add((*where, "bands", index, "level"), _not_a_level(band.level, factor))
    else:
        if item.type == "boolean":
            answers = {"true", "false"}
        elif item.type == "choice":
            answers = {option.code for option in item.options}
        else:
            report.add((*where, "map"), f"map derives a level from a choice or boolean answer; "
                       f"{item.id!r} is a {item.type} item (use bands)")  # fmt: skip
            return
        for answer, level in source.map.items():
            if answer not in answers:
                report.add((*where, "map", answer), f"{answer!r} is not an answer of "
                           f"{item.id!r} ({', '.join(sorted(answers))})")  # fmt: skip
            elif level not in factor.levels:
                report.add((*where, "map", answer), _not_a_level(level, factor))
        given = list(source.map.values())
        if set(answers) - set(source.map):
            missing = ", ".join(sorted(set(answers) - set(source.map)))
            report.add((*where, "map"), f"map gives no level for the answer(s) {missing}")
    unused = [level for level in factor.levels if level not in given]
    if unused:
        report.add((*path, "levels"), f"no band or answer gives the level(s) {', '.join(unused)}")


def _not_a_level(level: str, factor: StratificationFactor) -> str:
    return f"{level!r} is not a level of {factor.id} ({', '.join(factor.levels)})"


def _check_method(protocol: Protocol, report: Reporter) -> None:
    randomization = protocol.randomization
    total = sum(randomization.ratio.values())
    if randomization.method == "permuted-block":
        if not randomization.block_sizes:
            report.add(("randomization", "block_sizes"), "permuted blocks need block_sizes")
        if randomization.minimization is not None:
            report.add(
                ("randomization", "minimization"), "minimization settings need method: minimization"
            )
    else:
        if randomization.minimization is None:
            report.add(
                ("randomization",),
                "method minimization needs a minimization section (probability)",
            )
        elif randomization.minimization.probability <= 1 / max(len(randomization.ratio), 1):
            report.add(
                ("randomization", "minimization", "probability"),
                f"a probability of {randomization.minimization.probability} does not favour the "
                f"least-imbalancing arm over {len(randomization.ratio)} arms (it must exceed "
                f"1/{len(randomization.ratio)})",
            )
        if randomization.block_sizes:
            report.add(("randomization", "block_sizes"), "minimization uses no blocks")
        if not randomization.stratify_by:
            report.add(("randomization", "stratify_by"), "minimization needs at least one factor")
    for index, size in enumerate(randomization.block_sizes):
        if size % total:
            report.add(
                ("randomization", "block_sizes", index),
                f"block size {size} is not a multiple of the ratio total {total}",
            )
    events = [event.id for event in protocol.schedule.events]
    if randomization.event not in events:
        report.add(
            ("randomization", "event"),
            f"randomization event {randomization.event!r} is not a schedule event "
            f"({', '.join(events)})",
        )


def _collected_before_randomization(protocol: Protocol, form_id: str) -> bool:
    event = protocol.randomization.event
    return any(form_id in visit.forms for visit in timeline.visits_before(protocol.schedule, event))


def _check_endpoints(protocol: Protocol, library: Library, report: Reporter) -> None:
    endpoints = protocol.analysis.endpoints
    report.duplicates(("analysis", "endpoints"), (e.id for e in endpoints), "endpoint")
    if not any(endpoint.kind == "primary" for endpoint in endpoints):
        report.add(("analysis", "endpoints"), "the analysis plan needs a primary endpoint")
    forms = {form.id: form for form in protocol.forms}
    visits = {visit.id: visit for visit in protocol.schedule.visits}
    for index, endpoint in enumerate(endpoints):
        path = ("analysis", "endpoints", index, "measure")
        measure = endpoint.measure
        form = forms.get(measure.form)
        if form is None:
            report.add((*path, "form"), f"unknown form {measure.form!r}")
        elif form.instrument and library.find_instrument(form.instrument) is None:
            pass  # the unknown instrument is reported on the form; its items are unknowable
        elif measure.item not in set(protocol_forms.form_content(form, library).link_ids()):
            report.add((*path, "item"), f"form {form.id!r} has no item or score {measure.item!r}")
        if endpoint.summary == "change-from-baseline" and measure.baseline_visit is None:
            report.add(path, "a change-from-baseline endpoint needs a baseline_visit")
        for key in ("visit", "baseline_visit"):
            visit_id = getattr(measure, key)
            if visit_id is None:
                continue
            visit = visits.get(visit_id)
            if visit is None:
                report.add((*path, key), f"unknown visit {visit_id!r}")
            elif visit.unscheduled:
                report.add((*path, key), f"visit {visit_id!r} is unscheduled: it has no fixed time")
            elif measure.form not in visit.forms:
                report.add(
                    (*path, key), f"form {measure.form!r} is not collected at visit {visit_id!r}"
                )


def _check_analysis_additions(protocol: Protocol, report: Reporter) -> None:
    """Responders, repeated measures and multiplicity name what the protocol has."""
    plan = protocol.analysis
    visits = {visit.id: visit for visit in protocol.schedule.visits}
    for index, endpoint in enumerate(plan.endpoints):
        path: tuple[str | int, ...] = ("analysis", "endpoints", index)
        responder = endpoint.responder
        if responder is not None:
            if responder.points is None and responder.percent is None:
                report.add((*path, "responder"), "give points, percent or both")
            if endpoint.measure.baseline_visit is None:
                report.add((*path, "responder"), "a responder is judged from a baseline_visit")
        for position, visit_id in enumerate(endpoint.visits):
            visit = visits.get(visit_id)
            if visit is None:
                report.add((*path, "visits", position), f"unknown visit {visit_id!r}")
            elif endpoint.measure.form not in visit.forms:
                report.add(
                    (*path, "visits", position),
                    f"form {endpoint.measure.form!r} is not collected at visit {visit_id!r}",
                )
    multiplicity = plan.multiplicity
    if multiplicity is None:
        return
    arms = {arm.id for arm in protocol.arms}
    path = ("analysis", "multiplicity")
    for index, comparison in enumerate(multiplicity.comparisons):
        for arm in comparison.arms:
            if arm not in arms:
                report.add((*path, "comparisons", index, "arms"), f"unknown arm {arm!r}")
        if comparison.arms[0] == comparison.arms[1]:
            report.add((*path, "comparisons", index, "arms"), "compares an arm with itself")
    shares = [c.alpha for c in multiplicity.comparisons if c.alpha is not None]
    if sum(shares) > plan.alpha + 1e-12:
        report.add(
            (*path, "comparisons"),
            f"the comparisons' alphas add up to {sum(shares):g}, more than alpha {plan.alpha:g}",
        )
    tested = {e.id for e in plan.endpoints if not e.descriptive}
    for index, endpoint_id in enumerate(multiplicity.order):
        if endpoint_id not in tested:
            report.add((*path, "order", index), f"{endpoint_id!r} is not a tested endpoint")
    if multiplicity.method == "hierarchical" and not multiplicity.order:
        report.add((*path, "order"), "a hierarchical procedure needs the endpoints' order")
