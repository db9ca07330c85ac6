"""Everything the server holds once it is initialized: config, engine, usage, journal.

Built on the first need (after `initialize` has been answered), so that
start-up loads neither pydantic models nor httpx.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchboard.providers.adapters import kinds
from switchboard.providers.auth.credential_store import CredentialStore
from switchboard.providers.auth.signin import SignInFlows
from switchboard.providers.catalog.calibration import FILE_NAME as CALIBRATION_FILE
from switchboard.providers.catalog.calibration import Calibration
from switchboard.providers.config import (
    ConfigIssue,
    apply_overrides,
    config_path,
    data_dir,
    load_config,
)
from switchboard.providers.engine import ChatEngine

from .budget_notices import BudgetNotices, ShowMessage
from .journal import Journal
from .logs import apply_config_level
from .usage import UsageLedger

logger = logging.getLogger("switchboard.runtime")


class Runtime:
    def __init__(self, config_file: str | Path | None, overrides: Mapping[str, Any] | None) -> None:
        self.known_kinds = frozenset(kinds())
        self.config_file = config_path(config_file)
        self.file_config = load_config(self.config_file, self.known_kinds)
        # Editor settings sit on the file: initializationOptions, then each didChangeConfiguration.
        self.initial = apply_overrides(self.file_config, overrides, self.known_kinds)
        self.config = self.initial
        self.data_dir = data_dir()
        self.credentials = CredentialStore(self.data_dir)
        self.ledger = UsageLedger()
        self.budget_notices = BudgetNotices()
        self.engine = ChatEngine(
            self.config,
            model_cache_dir=self.data_dir / "models",
            store=self.credentials,
            calibration=Calibration(self.data_dir / CALIBRATION_FILE),
            session_spent=lambda: self.ledger.session.cost_usd,
        )
        self.sign_ins = SignInFlows(self.engine)
        self.journal = Journal(
            self.data_dir,
            enabled=self.config.journal,
            retention_days=self.config.journal_retention_days,
            max_bytes=int(self.config.journal_max_mb * 1_000_000),
        )
        self.journal.start()
        apply_config_level(self.config.log_level)
        for issue in self.config.issues:
            logger.warning("config: %s", issue)

    def apply_settings(self, settings: Mapping[str, Any] | None) -> tuple[ConfigIssue, ...]:
        """New editor settings (didChangeConfiguration) on top of the file's."""
        before = set(self.config.issues)
        self.config = apply_overrides(self.initial, settings, self.known_kinds)
        self.engine.reconfigure(self.config)
        apply_config_level(self.config.log_level)
        return tuple(i for i in self.config.issues if i not in before)

    def announce_budget(self, show: ShowMessage) -> None:
        """Warn (window/showMessage) when the session's spending crossed 80% or 100% of
        `session_budget_usd`; once per threshold."""
        self.budget_notices.announce(
            self.config.session_budget_usd, self.ledger.session.cost_usd, show
        )

    async def aclose(self) -> None:
        await self.sign_ins.aclose()
        await self.engine.aclose()
        await asyncio.to_thread(self.journal.close)
