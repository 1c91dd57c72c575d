"""The real test FHIR server (SEKMET on 127.0.0.1), its launcher and pytest fixtures."""
