"""The FHIR resource types a sync pulls; apart, so the CLI can list them without loading sync."""

# In the order a batch is normalized: subjects before what refers to them.
TYPES = (
    "Patient",
    "ResearchSubject",
    "Consent",
    "Encounter",
    "QuestionnaireResponse",
    "AdverseEvent",
    "Observation",
    "Condition",
    "Procedure",
    "MedicationRequest",
    "MedicationAdministration",
)
