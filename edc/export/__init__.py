"""File formats of the exports for statisticians (``edc.actions.export`` orchestrates)."""
