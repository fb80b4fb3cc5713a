"""The OpenAPI 3 description of the insights API, written by hand (served at /api/v1/insights/schema)."""

from typing import Any

from lms.insights.exports import COLUMNS, INDICATORS
from lms.insights.suppression import PRIMARY, SECONDARY, SHOWN, WITHHELD


def openapi_document() -> dict[str, Any]:
    observation = {
        "type": "object",
        "description": (
            "One published figure. OBS_VALUE is empty when the figure is hidden; OBS_STATUS says why: "
            f"{SHOWN} shown (counts rounded to the nearest 5), {PRIMARY} a count from 1 to 4, "
            f"{SECONDARY} hidden so that another hidden figure cannot be derived, "
            f"{WITHHELD} a rate or average on a base below 10 or with a hidden numerator."
        ),
        "properties": {column: {"type": "string"} for column in COLUMNS},
        "required": list(COLUMNS),
    }
    observation["properties"]["INDICATOR"]["enum"] = [code for code, _unit in INDICATORS.values()]
    observation["properties"]["OBS_STATUS"]["enum"] = [SHOWN, PRIMARY, SECONDARY, WITHHELD]
    errors = {
        "401": {
            "description": "No valid bearer token.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
        "403": {
            "description": "The token's owner may not read this.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    }
    csv_param = {
        "name": "format",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["json", "csv"]},
        "description": "csv returns the observations as UTF-8 CSV, the same file as the dashboard's export.",
    }
    observations_response = {
        "type": "object",
        "properties": {
            "as_of": {"type": "string", "format": "date-time", "nullable": True},
            "observations": {"type": "array", "items": {"$ref": "#/components/schemas/Observation"}},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "OpenCapacity insights",
            "version": "1.0.0",
            "description": (
                "Aggregated, small-cell-suppressed training uptake per country for ministry analysts (their "
                "countries) and network admins (every country). Never a learner's personal data."
            ),
        },
        "servers": [{"url": "/api/v1/insights"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/countries": {
                "get": {
                    "summary": "The countries this token may read",
                    "responses": {
                        "200": {
                            "description": "Countries",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CountryList"}}},
                        },
                        **errors,
                    },
                }
            },
            "/countries/{country}": {
                "get": {
                    "summary": "Published figures for one country",
                    "parameters": [
                        {
                            "name": "country",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "ISO 3166-1 alpha-2 code (any case), or 'unknown' (network admins only).",
                        },
                        csv_param,
                    ],
                    "responses": {
                        "200": {
                            "description": "Observations",
                            "content": {
                                "application/json": {"schema": observations_response},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        "400": {"description": "Not a country code."},
                        **errors,
                    },
                }
            },
            "/global": {
                "get": {
                    "summary": "World, M49 regions, LDC/LLDC/SIDS and every country (network admins)",
                    "parameters": [csv_param],
                    "responses": {
                        "200": {
                            "description": "Observations",
                            "content": {
                                "application/json": {"schema": observations_response},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        **errors,
                    },
                }
            },
            "/schema": {
                "get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3"}}}
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Observation": observation,
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
                "CountryList": {
                    "type": "object",
                    "properties": {
                        "global": {"type": "boolean"},
                        "countries": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "REF_AREA": {"type": "string"},
                                    "REF_AREA_ALPHA3": {"type": "string"},
                                    "REF_AREA_M49": {"type": "string"},
                                    "name": {"type": "string"},
                                    "url": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
