"""Forms -> SDC Questionnaires (plus the CodeSystems of their local answer codes).

Mapping (fhir-mapping-guide section 5): item types as R4 (``choice``, not R5 ``coding``),
``required``/``repeats``, ``enableWhen`` with the answer[x] type of the question, answer options
as ``valueCoding`` with the ``itemWeight`` extension, ``minValue``/``maxValue``,
``questionnaire-unit`` (UCUM), SDC ``variable`` at the root and read-only score items carrying
``sdc-questionnaire-calculatedExpression``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from edc.compiler.datatypes import EXT, SDC, UCUM, coding, number
from edc.compiler.naming import Naming, computable_name, shared_id
from edc.items.model import AnswerOption, EnableWhen, Item, Score, Variable
from edc.library import Instrument
from edc.protocol.edit_checks import EditCheck
from edc.protocol.forms import VISIT_ITEM, FormContent, walk_items

ITEM_WEIGHT = f"{EXT}/itemWeight"
CALCULATED_EXPRESSION = f"{SDC}/sdc-questionnaire-calculatedExpression"
VARIABLE = f"{EXT}/variable"
MIN_VALUE = f"{EXT}/minValue"
MAX_VALUE = f"{EXT}/maxValue"
UNIT = f"{EXT}/questionnaire-unit"
HIDDEN = f"{EXT}/questionnaire-hidden"
CONSTRAINT = f"{EXT}/questionnaire-constraint"


@dataclasses.dataclass(frozen=True)
class AnswerSystem:
    """A CodeSystem for answer codes we define ourselves (no standard code exists)."""

    resource_id: str
    url: str
    version: str
    name: str
    title: str
    concepts: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)


@dataclasses.dataclass(frozen=True)
class QuestionnaireSettings:
    """What a Questionnaire takes from its study: naming, version, publisher, date."""

    naming: Naming
    short_title: str
    publisher: str
    date: str | None

    @property
    def version(self) -> str:
        return self.naming.version


class QuestionnaireBuilder:
    """Builds Questionnaires and collects the local answer codes they use."""

    def __init__(self, settings: QuestionnaireSettings) -> None:
        self._ctx = settings
        self._systems: dict[str, AnswerSystem] = {}

    def build(
        self,
        content: FormContent,
        *,
        title: str | None = None,
        constraints: Sequence[EditCheck] = (),
    ) -> dict[str, Any]:
        """The Questionnaire of one form."""
        naming = self._ctx.naming
        known = {item.id: item for item in walk_items(content.items)}
        study_system = self._system(
            AnswerSystem(
                resource_id=naming.resource_id(content.form_id, "answers"),
                url=naming.canonical("CodeSystem", content.form_id),
                version=self._ctx.version,
                name=naming.computable_name(content.form_id, "answers"),
                title=f"{self._ctx.short_title}: {content.title} answers",
            )
        )
        instrument = content.instrument
        study_items = content.items
        items: list[dict[str, Any]] = []
        if instrument is not None:
            instrument_system = self._system(
                AnswerSystem(
                    resource_id=shared_id(instrument.id, "answers", instrument.version),
                    url=instrument.answer_system
                    or naming.shared_canonical("CodeSystem", instrument.id),
                    version=instrument.version,
                    name=computable_name(instrument.id, "answers"),
                    title=f"{instrument.title}: answers",
                )
            )
            items += [_Item(known, instrument_system).build(i) for i in instrument.items]
            study_items = content.items[len(instrument.items) :]
        items += [_Item(known, study_system).build(item) for item in study_items]
        items += [_score_item(score) for score in content.scores]

        questionnaire: dict[str, Any] = {"resourceType": "Questionnaire"}
        questionnaire["id"] = naming.resource_id(content.form_id)
        extensions = [_variable(v) for v in content.variables]
        extensions += [_constraint(check) for check in constraints]
        if extensions:
            questionnaire["extension"] = extensions
        questionnaire["url"] = naming.canonical("Questionnaire", content.form_id)
        questionnaire["version"] = self._ctx.version
        questionnaire["name"] = naming.computable_name(content.form_id)
        questionnaire["title"] = title or content.title
        questionnaire["status"] = "active"
        questionnaire["subjectType"] = ["Patient"]
        if self._ctx.date:
            questionnaire["date"] = self._ctx.date
        questionnaire["publisher"] = self._ctx.publisher
        if instrument is not None:
            questionnaire["description"] = instrument.description or instrument.title
            if instrument.copyright:
                questionnaire["copyright"] = instrument.copyright
            if instrument.code is not None:
                questionnaire["code"] = [coding(instrument.code)]
        questionnaire["item"] = items
        return questionnaire

    def code_systems(self) -> list[dict[str, Any]]:
        """CodeSystems of the local answer codes used so far (empty ones left out)."""
        return [_code_system(system) for system in self._systems.values() if system.concepts]

    def _system(self, system: AnswerSystem) -> AnswerSystem:
        # The same instrument may back several forms: its answers share one CodeSystem.
        return self._systems.setdefault(system.url, system)


class _Item:
    """Builds the items of one form; ``known`` gives enableWhen the type of its question."""

    def __init__(self, known: Mapping[str, Item], system: AnswerSystem) -> None:
        self._known = known
        self._system = system

    def build(self, item: Item) -> dict[str, Any]:
        result: dict[str, Any] = {}
        extensions = _item_extensions(item)
        if item.id == VISIT_ITEM:
            extensions.append({"url": HIDDEN, "valueBoolean": True})
        if extensions:
            result["extension"] = extensions
        result["linkId"] = item.id
        if item.code is not None:
            result["code"] = [coding(item.code)]
        result["text"] = item.text
        result["type"] = item.type
        if item.id == VISIT_ITEM:  # written by edc, never asked (edc.protocol.forms)
            result["readOnly"] = True
        if item.enable_when:
            result["enableWhen"] = [self._enable_when(c) for c in item.enable_when]
            if len(item.enable_when) > 1:
                result["enableBehavior"] = item.enable_behavior or "all"
        if item.required:
            result["required"] = True
        if item.repeats:
            result["repeats"] = True
        if item.max_length:
            result["maxLength"] = item.max_length
        if item.answer_value_set:
            result["answerValueSet"] = item.answer_value_set
        if item.options:
            result["answerOption"] = [self._option(option) for option in item.options]
        if item.items:
            result["item"] = [self.build(child) for child in item.items]
        return result

    def _option(self, option: AnswerOption) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if option.weight is not None:
            result["extension"] = [{"url": ITEM_WEIGHT, "valueDecimal": number(option.weight)}]
        result["valueCoding"] = self.answer_coding(option)
        return result

    def answer_coding(self, option: AnswerOption) -> dict[str, Any]:
        if option.system is not None:
            return {"system": option.system, "code": option.code, "display": option.display}
        self._system.concepts.setdefault(option.code, option.display)
        return {
            "system": self._system.url,
            "version": self._system.version,
            "code": option.code,
            "display": option.display,
        }

    def _enable_when(self, condition: EnableWhen) -> dict[str, Any]:
        result: dict[str, Any] = {"question": condition.question, "operator": condition.operator}
        question = self._known[condition.question]
        answer = condition.answer
        if condition.operator == "exists":
            result["answerBoolean"] = bool(answer)
        elif question.type in ("choice", "open-choice"):
            option = next((o for o in question.options if o.code == answer), None)
            if option is None:  # answers from a value set: the code alone identifies it
                result["answerCoding"] = {"code": str(answer)}
            else:
                result["answerCoding"] = _Item(self._known, self._system).answer_coding(option)
                result["answerCoding"].pop("display")
        else:
            key, value = _typed_answer(question.type, answer)
            result[key] = value
        return result


def instrument_questionnaire(
    instrument: Instrument, base: str = "https://edc.example.org/fhir"
) -> dict[str, Any]:
    """The Questionnaire of a library instrument on its own (previews, scoring tests)."""
    settings = QuestionnaireSettings(
        naming=Naming(base, "library", instrument.version),
        short_title="Instrument library",
        publisher="edc instrument library",
        date=None,
    )
    content = FormContent(
        form_id=instrument.id,
        title=instrument.title,
        instrument=instrument,
        items=instrument.items,
        variables=instrument.variables,
        scores=instrument.scores,
    )
    return QuestionnaireBuilder(settings).build(content)


def _typed_answer(item_type: str, answer: Any) -> tuple[str, Any]:
    if item_type == "boolean":
        return "answerBoolean", bool(answer)
    if item_type == "integer":
        return "answerInteger", int(answer)
    if item_type == "decimal":
        return "answerDecimal", number(answer)
    if item_type == "date":
        return "answerDate", answer.isoformat()
    if item_type == "dateTime":
        return "answerDateTime", answer.isoformat()
    return "answerString", str(answer)


def _item_extensions(item: Item) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = []
    for url, bound in ((MIN_VALUE, item.min), (MAX_VALUE, item.max)):
        if bound is None:
            continue
        if isinstance(bound, dt.date):
            extensions.append({"url": url, "valueDate": bound.isoformat()})
        elif item.type == "integer":
            extensions.append({"url": url, "valueInteger": int(bound)})
        else:
            extensions.append({"url": url, "valueDecimal": number(Decimal(bound))})
    if item.unit:
        extensions.append(_unit(item.unit))
    return extensions


def _unit(code: str) -> dict[str, Any]:
    return {"url": UNIT, "valueCoding": {"system": UCUM, "code": code, "display": code}}


def _score_item(score: Score) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = [
        {
            "url": CALCULATED_EXPRESSION,
            "valueExpression": {"language": "text/fhirpath", "expression": score.expression},
        }
    ]
    if score.unit:
        extensions.append(
            {
                "url": UNIT,
                "valueCoding": {"system": UCUM, "code": score.unit, "display": score.unit},
            }
        )
    result: dict[str, Any] = {"extension": extensions, "linkId": score.id}
    if score.code is not None:
        result["code"] = [coding(score.code)]
    result.update({"text": score.text, "type": score.type, "readOnly": True})
    return result


def _variable(variable: Variable) -> dict[str, Any]:
    return {
        "url": VARIABLE,
        "valueExpression": {
            "name": variable.name,
            "language": "text/fhirpath",
            "expression": variable.expression,
        },
    }


def _constraint(check: EditCheck) -> dict[str, Any]:
    """A single-form edit check as SDC ``questionnaire-constraint``, for form fillers."""
    return {
        "url": CONSTRAINT,
        "extension": [
            {"url": "key", "valueId": check.id},
            {"url": "severity", "valueCode": check.severity},
            {"url": "expression", "valueString": check.expression},
            {"url": "human", "valueString": check.message},
        ],
    }


def _code_system(system: AnswerSystem) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": system.resource_id,
        "url": system.url,
        "version": system.version,
        "name": system.name,
        "title": system.title,
        "status": "active",
        "caseSensitive": True,
        "content": "complete",
        "count": len(system.concepts),
        "concept": [
            {"code": code, "display": display} for code, display in system.concepts.items()
        ],
    }
