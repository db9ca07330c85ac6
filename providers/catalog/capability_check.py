"""What a request needs of its model, checked before anything is sent.

Images (in a message or a tool result) need `images`; tool definitions need
`tools`. A capability is only held against a model when someone stated it: the
catalog, or the provider's own model list. A model nobody describes (a local
server's, a new one) gets the benefit of the doubt and the provider decides.
"""

from __future__ import annotations

from switchboard.protocol.chat import ChatParams
from switchboard.protocol.errors import ErrorCode

from ..base import ListedModel, ModelTarget
from ..errors import ProviderError


def required_capabilities(params: ChatParams) -> list[str]:
    """The capabilities this request uses, by their ModelInfo.capabilities names."""
    needed = []
    if params.has_images():
        needed.append("images")
    if params.tools:
        needed.append("tools")
    return needed


def check_capabilities(
    params: ChatParams, target: ModelTarget, listed: ListedModel | None = None
) -> None:
    """ProviderError(unsupported) naming the first capability the model is known to lack."""
    for capability in required_capabilities(params):
        if _known_missing(capability, target, listed):
            raise ProviderError(
                ErrorCode.UNSUPPORTED,
                f"{target.id} does not support {capability}; the request was not sent",
                provider=target.provider,
                suggestion=_suggestion(capability),
                capability=capability,
            )


def _known_missing(capability: str, target: ModelTarget, listed: ListedModel | None) -> bool:
    if getattr(target.info.capabilities, capability):
        return False
    stated_by_list = listed is not None and getattr(listed, capability) is not None
    return target.info.source == "catalog" or stated_by_list


def _suggestion(capability: str) -> str:
    if capability == "images":
        return "remove the images, or pick a model whose capabilities include images"
    return "send no tools, or pick a model whose capabilities include tools"
