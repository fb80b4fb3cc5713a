"""The Celery application shared by the web process and the grading workers."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

app = Celery("lms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def grading_worker_command(node_name: str, *options: str) -> list[str]:
    """The command line of one grading worker process, as the tests and benchmarks start it.

    One task at a time (`-c 1`): the sandbox pool, not Celery, is where a worker's parallelism
    lives. Gossip, mingle and heartbeats are off because these workers never coordinate with
    each other; `node_name` keeps several on one host apart (`name@%h`).
    """
    import sys

    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lms",
        "worker",
        "-Q",
        "grading",
        "-c",
        "1",
        *options,
        "-n",
        f"{node_name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=WARNING",
    ]
