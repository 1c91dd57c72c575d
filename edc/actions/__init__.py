"""One module per user-visible verb; the CLI, the API and scheduled jobs all call these."""
