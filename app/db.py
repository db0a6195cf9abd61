"""The app's handle on the database configuration, which lives with the models so the worker can use it too."""

from models.database import connected, is_postgres, tortoise_config

__all__ = ["connected", "is_postgres", "tortoise_config"]
