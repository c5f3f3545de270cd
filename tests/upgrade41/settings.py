"""This package's side of the upgrade: the suite's settings on the database 4.1.0 migrated.

A second database, ``fresh``, is migrated from scratch to compare schemas with.
"""

import os

from tests.settings import *  # noqa: F403
from tests.upgrade41.database import database_settings

SECRET_KEY = os.environ["UPGRADE_SECRET_KEY"]
DATABASES = {
    "default": database_settings(),
    "fresh": database_settings(os.environ["UPGRADE_FRESH_DB_NAME"]),
}
ROOT_URLCONF = "tests.upgrade41.urls"
CELERY_TASK_ALWAYS_EAGER = True
