"""``team``: where the inbox and outputs live and which time zone the team's weeks are in."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import ConfigurableResource


class TeamResource(ConfigurableResource):
    home: str
    inbox: str
    timezone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def inbox_path(self) -> Path:
        return Path(self.inbox)

    @property
    def reports_dir(self) -> Path:
        return Path(self.home) / "reports"

    @property
    def people_file(self) -> Path:
        """The optional directory seed: ``people.yaml`` in the inbox, else in the home."""
        for candidate in (Path(self.inbox) / "people.yaml", Path(self.home) / "people.yaml"):
            if candidate.is_file():
                return candidate
        return Path(self.inbox) / "people.yaml"
