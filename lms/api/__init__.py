"""The learner REST API v1 (/api/v1/): enrollments, progress, submissions; personal API tokens."""
