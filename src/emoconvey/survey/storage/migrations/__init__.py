"""Alembic migrations of the survey database (run by ``emoconvey.survey.storage.migrate``)."""
