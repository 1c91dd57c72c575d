"""Filled-in forms: QuestionnaireResponses built from plain answers, and their SDC scores."""

from edc.forms.response import ResponseTemplate, build_response, json_number
from edc.forms.scores import (
    Calculation,
    ScoreError,
    ScoreProgram,
    evaluate_scores,
    score_program,
    write_scores,
)
from edc.library.answers import AnswerError, Answers

__all__ = [
    "AnswerError",
    "Answers",
    "Calculation",
    "ResponseTemplate",
    "ScoreError",
    "ScoreProgram",
    "build_response",
    "evaluate_scores",
    "json_number",
    "score_program",
    "write_scores",
]
