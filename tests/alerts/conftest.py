"""The chat services' local server for the alerts tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from support.alerts_setup import CHAT, STRANGER
from support.chat_servers import ChatServers


@pytest.fixture
async def servers() -> AsyncIterator[ChatServers]:
    chat = ChatServers(known_chats={CHAT, STRANGER})
    await chat.start()
    try:
        yield chat
    finally:
        await chat.stop()
