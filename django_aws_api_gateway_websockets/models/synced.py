"""What the gateway and route models share: the fields they push to AWS, and what a save changed."""

from __future__ import annotations

from typing import Any

from django.db import models


class SyncedModel(models.Model):
    """Remembers the loaded values of the fields it pushes to AWS, to see what a save changed."""

    synced_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Any:
        instance = super().from_db(*args, **kwargs)
        instance._aws_snapshot = instance.synced_values()
        return instance

    def synced_values(self) -> dict[str, Any]:
        return {name: self.__dict__[name] for name in self.synced_fields if name in self.__dict__}

    def changed_synced_fields(self, saved: Any = None) -> dict[str, Any]:
        """The changed fields (of those ``saved``, all if None) with their previous values.

        The snapshot then holds what was saved.
        """
        previous = getattr(self, "_aws_snapshot", {})
        current = {
            name: value
            for name, value in self.synced_values().items()
            if saved is None or name in saved
        }
        self._aws_snapshot = {**previous, **current}
        return {
            name: previous[name]
            for name, value in current.items()
            if name in previous and previous[name] != value
        }

    def validate_saved(self, update_fields: Any) -> None:
        """Validate what a save writes: every field, or only those in ``update_fields``.

        A save of some fields is never refused for a field it does not write (a host that
        ``allowed_integration_hosts`` no longer lists must not stop a secret rotation).
        """
        if update_fields is None:
            self.full_clean()
            return
        names = set(update_fields)
        self.clean_fields(exclude=[f.name for f in self._meta.fields if f.name not in names])
        self.check_fields(names)

    def clean(self) -> None:
        self.check_fields(None)

    def check_fields(self, names: set[str] | None) -> None:
        """The model's own checks of the fields ``names`` (all when None)."""
