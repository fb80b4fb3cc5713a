"""The OpenAPI 3 document of /api/v1/, written by hand like the insights one and merged with it.

Served at /api/v1/schema (JSON) and rendered as a page at /api/v1/docs. tests/lms/api checks that
every route under /api/v1/ is described here, so the document cannot silently fall behind the code.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings

from lms.progress.models import Submission

INSIGHTS_PREFIX = "/insights"
INSIGHTS_COMPONENT_PREFIX = "Insights"
METHODS = ("get", "post", "put", "patch", "delete")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "Bad input; `error` says what is wrong, in the language of Accept-Language.",
        401: "No valid token and no session.",
        403: "Session without a valid CSRF token (unsafe methods only).",
        404: "No such object, or it belongs to someone else.",
        413: "The code or the notebook is over the size limit.",
        429: "Rate limit reached; the Retry-After header and `retry_after` give the seconds to wait.",
    }
    return {str(status): _json(_ref("Error"), descriptions[status]) for status in statuses}


def _id_parameter(name: str, what: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}, "description": what}


def _learner_paths() -> dict[str, Any]:
    exercise_id = _id_parameter("exercise_id", "The exercise's id (data-exercise on the lesson page).")
    answers_param = {
        "name": "answers",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["latest"]},
        "description": "latest: put the learner's latest code (from their last Check or Submit) into the answer cells.",
    }
    kind = {"type": "string", "enum": list(Submission.Kind.values), "default": Submission.Kind.SUBMIT}
    return {
        "/me/enrollments": {
            "get": {
                "summary": "My enrollments and progress",
                "description": "The caller's courses, in the request's language when translated, most recent first.",
                "tags": ["learner"],
                "responses": {"200": _json(_ref("EnrollmentList"), "Enrollments"), **_errors(401)},
            }
        },
        "/exercises/{exercise_id}": {
            "get": {
                "summary": "An exercise: its answer cells with their starter code, and my best score",
                "tags": ["learner"],
                "parameters": [exercise_id],
                "responses": {"200": _json(_ref("Exercise"), "The exercise"), **_errors(401, 404)},
            }
        },
        "/exercises/{exercise_id}/notebook": {
            "get": {
                "summary": "The exercise as a learner notebook (.ipynb) for Jupyter",
                "description": "The released version: no solutions, no hidden tests.",
                "tags": ["learner"],
                "parameters": [exercise_id, answers_param],
                "responses": {
                    "200": {
                        "description": "The notebook (nbformat 4)",
                        "content": {"application/x-ipynb+json": {"schema": {"type": "object"}}},
                    },
                    **_errors(401, 404),
                },
            }
        },
        "/exercises/{exercise_id}/submissions": {
            "get": {
                "summary": "My latest submissions to an exercise (50 at most, newest first)",
                "tags": ["learner"],
                "parameters": [exercise_id],
                "responses": {"200": _json(_ref("SubmissionList"), "Submissions"), **_errors(401, 404)},
            },
            "post": {
                "summary": "Check or Submit code, or a whole notebook",
                "description": (
                    "Check runs the visible tests only; Submit grades against visible and hidden tests. Send "
                    "JSON with `answers` (answer cell key to code) or `notebook` (the .ipynb as an object or "
                    "as text), or multipart/form-data with a `notebook` file. Only the answer cells are read "
                    "from a notebook. Grading is asynchronous: poll the returned `url`. Rate limits per learner: "
                    + ", ".join(f"{action} {rate}" for action, rate in sorted(settings.RATE_LIMITS.items()))
                    + f". Code at most {settings.SUBMISSION_MAX_CODE_BYTES // 1024} KiB; notebooks at most "
                    f"{settings.SUBMISSION_MAX_NOTEBOOK_BYTES // 1024} KiB, nbformat 4, Python."
                ),
                "tags": ["learner"],
                "parameters": [exercise_id],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref("SubmissionRequest")},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["notebook"],
                                "properties": {"kind": kind, "notebook": {"type": "string", "format": "binary"}},
                            }
                        },
                    },
                },
                "responses": {
                    "202": {
                        **_json(_ref("Submission"), "Queued for grading"),
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "The submission's url"}},
                    },
                    **_errors(400, 401, 403, 404, 413, 429),
                },
            },
        },
        "/submissions/{submission_id}": {
            "get": {
                "summary": "A submission's status, score and per-test feedback, or a run's outputs",
                "description": (
                    "Poll until `status` is graded or failed. Hidden tests report only passed/failed. A Run "
                    "(`kind` run) has no score: its `cells` carry the outputs the exercise page shows."
                ),
                "tags": ["learner"],
                "parameters": [_id_parameter("submission_id", "The submission's id")],
                "responses": {"200": _json(_ref("Submission"), "The submission"), **_errors(401, 404)},
            }
        },
        "/schema": {
            "get": {
                "summary": "This document (learner API and insights API)",
                "tags": ["meta"],
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3"}},
            }
        },
        "/docs": {
            "get": {
                "summary": "This document as a readable page",
                "tags": ["meta"],
                "security": [],
                "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }
        },
    }


def _learner_schemas() -> dict[str, Any]:
    nullable_number = {"type": "number", "nullable": True}
    nullable_time = {"type": "string", "format": "date-time", "nullable": True}
    submission = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "exercise": {"type": "integer"},
            "kind": {"type": "string", "enum": list(Submission.Kind.values)},
            "status": {"type": "string", "enum": list(Submission.Status.values)},
            "status_label": {"type": "string"},
            "verdict": {
                "type": "string",
                "description": "graded, time limit, memory limit, crashed, ... (empty until graded)",
            },
            "score": nullable_number,
            "max_score": nullable_number,
            "tests": {"type": "array", "items": _ref("TestResult")},
            "manual": {"type": "array", "items": {"type": "string"}, "description": "Parts graded by hand later"},
            "failed_reason": {"type": "string"},
            "verdict_label": {"type": "string", "description": "Run only: the verdict in the request's language"},
            "cells": {
                "type": "array",
                "items": _ref("RunCell"),
                "description": "Run only: the outputs of each answer cell, in notebook order",
            },
            "instructor_errors": {
                "type": "array",
                "items": _ref("RunOutput"),
                "description": "Run only: errors raised by the exercise's own code before the answer cells",
            },
            "created_at": nullable_time,
            "finished_at": nullable_time,
            "url": {"type": "string"},
            "page_url": {"type": "string"},
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "description": "What is wrong, the same text as on the web pages"},
                "retry_after": {"type": "integer", "description": "429 only: seconds to wait"},
            },
        },
        "TestResult": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "points": {"type": "number"},
                "max_points": {"type": "number"},
                "passed": {"type": "boolean"},
                "hidden": {"type": "boolean"},
                "message": {"type": "string", "nullable": True},
            },
        },
        "Submission": submission,
        "RunCell": {
            "type": "object",
            "properties": {
                "key": {"type": "string", "description": "The answer cell's key (see GET /exercises/{id})"},
                "ran": {"type": "boolean", "description": "False when an earlier cell stopped the run"},
                "outputs": {"type": "array", "items": _ref("RunOutput")},
            },
        },
        "RunOutput": {
            "type": "object",
            "description": (
                "One output, checked before it was stored: text is plain text (never markup, ANSI codes "
                "removed); an image is a data: URI of a verified PNG or JPEG, or is replaced by `text` "
                "saying it was omitted."
            ),
            "required": ["kind"],
            "properties": {
                "kind": {"type": "string", "enum": ["stream", "result", "display", "error"]},
                "name": {"type": "string", "enum": ["stdout", "stderr"], "description": "stream only"},
                "text": {"type": "string"},
                "image": {"type": "string", "description": "data:image/png;base64,... or data:image/jpeg;base64,..."},
                "omitted": {"type": "string", "enum": ["image"]},
                "ename": {"type": "string", "description": "error only: the exception's type"},
                "evalue": {"type": "string", "description": "error only: its message"},
                "traceback": {"type": "string", "description": "error only: the traceback as plain text"},
            },
        },
        "SubmissionList": {
            "type": "object",
            "properties": {"submissions": {"type": "array", "items": _ref("Submission")}},
        },
        "SubmissionRequest": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": list(Submission.Kind.values), "default": Submission.Kind.SUBMIT},
                "answers": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Answer cell key (see GET /exercises/{id}) to the learner's code",
                },
                "notebook": {
                    "oneOf": [{"type": "object"}, {"type": "string"}],
                    "description": "A whole .ipynb, as a JSON object or as its text",
                },
            },
        },
        "Exercise": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": "string"},
                "max_score": {"type": "number"},
                "best_score": nullable_number,
                "answer_cells": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"key": {"type": "string"}, "starter_code": {"type": "string"}},
                    },
                },
                "notebook_url": {"type": "string"},
                "submissions_url": {"type": "string"},
            },
        },
        "EnrollmentList": {
            "type": "object",
            "properties": {
                "enrollments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "course": {
                                "type": "object",
                                "properties": {
                                    "key": {"type": "string", "format": "uuid"},
                                    "title": {"type": "string"},
                                    "language": {"type": "string"},
                                    "url": {"type": "string"},
                                },
                            },
                            "percent": {"type": "integer"},
                            "lessons_done": {"type": "integer"},
                            "lessons_total": {"type": "integer"},
                            "completed_at": nullable_time,
                            "last_visited_at": nullable_time,
                            "continue_url": {"type": "string", "nullable": True},
                        },
                    },
                }
            },
        },
    }


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (renames.get(value, value) if key == "$ref" else _rename_refs(value, renames))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _insights_part() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The insights document's paths, schemas and security schemes, under /insights and renamed apart."""
    from lms.insights.openapi import openapi_document as insights_document

    insights = copy.deepcopy(insights_document())
    components = insights.get("components", {})
    schemas = components.get("schemas", {})
    renames = {
        f"#/components/schemas/{name}": f"#/components/schemas/{INSIGHTS_COMPONENT_PREFIX}{name}" for name in schemas
    }
    scheme_names = {name: f"insights{name[:1].upper()}{name[1:]}" for name in components.get("securitySchemes", {})}
    default_security = [
        {scheme_names.get(name, name): scopes for name, scopes in requirement.items()}
        for requirement in insights.get("security", [])
    ]
    paths = {}
    for path, item in insights.get("paths", {}).items():
        item = _rename_refs(item, renames)
        for method in METHODS:
            if method in item:
                operation = item[method]
                operation.setdefault("tags", ["insights"])
                if "security" in operation:
                    operation["security"] = [
                        {scheme_names.get(name, name): scopes for name, scopes in requirement.items()}
                        for requirement in operation["security"]
                    ]
                else:
                    operation["security"] = default_security
        paths[INSIGHTS_PREFIX + path] = item
    renamed_schemas = {
        f"{INSIGHTS_COMPONENT_PREFIX}{name}": _rename_refs(schema, renames) for name, schema in schemas.items()
    }
    schemes = {scheme_names[name]: scheme for name, scheme in components.get("securitySchemes", {}).items()}
    return paths, renamed_schemas, schemes


def openapi_document() -> dict[str, Any]:
    insights_paths, insights_schemas, insights_schemes = _insights_part()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "OpenCapacity API",
            "version": "1.0.0",
            "description": (
                "Learners: list enrollments and progress, download exercise notebooks, Check or Submit code or a "
                "notebook, and poll the feedback; only ever their own. Authenticate with a personal token "
                "(`Authorization: Token <key>`, created on the account's API tokens page) or the session cookie "
                "(with X-CSRFToken for POST). Error messages follow Accept-Language. Ministries: the insights "
                "endpoints under /insights, with their own tokens (docs/insights.md)."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"tokenAuth": []}, {"sessionAuth": []}],
        "tags": [
            {"name": "learner", "description": "A learner's own enrollments, exercises and submissions"},
            {"name": "insights", "description": "Aggregated uptake for ministry analysts and network admins"},
            {"name": "meta", "description": "This description"},
        ],
        "paths": {**_learner_paths(), **insights_paths},
        "components": {
            "securitySchemes": {
                "tokenAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <key>` (or `Bearer <key>`): a personal learner token",
                },
                "sessionAuth": {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME},
                **insights_schemes,
            },
            "schemas": {**_learner_schemas(), **insights_schemas},
        },
    }


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document flattened for the docs page: one entry per path and method."""
    server = document["servers"][0]["url"]
    rows = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            body = operation.get("requestBody", {}).get("content", {})
            rows.append(
                {
                    "method": method.upper(),
                    "path": server + path,
                    "anchor": f"{method}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tag": (operation.get("tags") or [""])[0],
                    "public": operation.get("security") == [],
                    "parameters": operation.get("parameters", []),
                    "body_types": list(body),
                    "body_schema": next(iter(body.values()), {}).get("schema", {}).get("$ref", "").rsplit("/", 1)[-1],
                    "responses": [
                        {
                            "status": status,
                            "description": response.get("description", ""),
                            "schema": next(iter(response.get("content", {}).values()), {})
                            .get("schema", {})
                            .get("$ref", "")
                            .rsplit("/", 1)[-1],
                        }
                        for status, response in operation.get("responses", {}).items()
                    ],
                }
            )
    return rows
