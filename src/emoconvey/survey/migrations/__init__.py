"""Alembic migration scripts of the survey database (run by ``emoconvey.survey.db.migrate``)."""
