"""edc: FHIR-native electronic data capture for multi-center randomized trials."""

__version__ = "0.1.0"
