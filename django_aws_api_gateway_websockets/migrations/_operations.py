"""Migration operations shared by this app's migrations (the loader skips ``_`` modules)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class RemoveIndexIfPresent(migrations.RemoveIndex):
    """``RemoveIndex`` that leaves a database without the index alone.

    Databases migrated by early 4.x releases may lack indexes that a fresh 0007 creates.
    """

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            names = connection.introspection.get_constraints(cursor, model._meta.db_table)
        if self.name in names:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
