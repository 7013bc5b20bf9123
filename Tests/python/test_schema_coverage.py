"""Every field the official Python client knows for each served kind is in Skiff's schema."""
from schema_coverage import coverage_problems


def test_schema_covers_python_client_models():
    problems = coverage_problems()
    assert problems == [], "\n".join(problems)
