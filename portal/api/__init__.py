"""The JSON API under `/api/v1`: the SafeLink client's machine endpoints and the company's
automation with API tokens, described at `/api/v1/openapi.json`."""
