"""Every custom method: its name, params model and result model."""

from __future__ import annotations

from dataclasses import dataclass

from .auth import (
    SetApiKeyParams,
    SetApiKeyResult,
    SignInCompleteParams,
    SignInParams,
    SignInResult,
    SignOutParams,
)
from .base import WireModel
from .catalog import ModelsParams, ModelsResult, ProvidersParams, ProvidersResult
from .chat import ChatParams, ChatProgress, ChatResult
from .history import HistoryParams, HistoryResult
from .tokens import CountTokensParams, CountTokensResult
from .usage import UsageChanged, UsageParams, UsageResult

MODELS = "switchboard/models"
PROVIDERS = "switchboard/providers"
CHAT = "switchboard/chat"
COUNT_TOKENS = "switchboard/countTokens"
USAGE = "switchboard/usage"
SIGN_IN = "switchboard/signIn"
SIGN_IN_COMPLETE = "switchboard/signInComplete"
SIGN_OUT = "switchboard/signOut"
SET_API_KEY = "switchboard/setApiKey"
USAGE_CHANGED = "switchboard/usageChanged"
HISTORY = "switchboard/history"


@dataclass(frozen=True)
class Method:
    name: str
    params: type[WireModel]
    result: type[WireModel] | None
    progress: type[WireModel] | None = None


REQUESTS: tuple[Method, ...] = (
    Method(MODELS, ModelsParams, ModelsResult),
    Method(PROVIDERS, ProvidersParams, ProvidersResult),
    Method(CHAT, ChatParams, ChatResult, ChatProgress),
    Method(COUNT_TOKENS, CountTokensParams, CountTokensResult),
    Method(USAGE, UsageParams, UsageResult),
    Method(SIGN_IN, SignInParams, SignInResult),
    Method(SIGN_IN_COMPLETE, SignInCompleteParams, SignInResult),
    Method(SIGN_OUT, SignOutParams, SignInResult),
    Method(SET_API_KEY, SetApiKeyParams, SetApiKeyResult),
    Method(HISTORY, HistoryParams, HistoryResult),
)

NOTIFICATIONS: tuple[Method, ...] = (Method(USAGE_CHANGED, UsageChanged, None),)
