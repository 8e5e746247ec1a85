"""The CronJob controller: :mod:`.schedule` (cron fire times), :mod:`.plan` (pure
decisions) and :mod:`.controller` (reads caches, creates Jobs through the client)."""

from steersman.controllers.cronjob.controller import CronJobController

__all__ = ["CronJobController"]
