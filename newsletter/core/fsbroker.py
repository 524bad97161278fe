"""The embedded broker: kombu's filesystem transport, with each message written atomically.

kombu's filesystem transport creates a message file and then locks and writes it. A worker
polling the folder can move and read that file in between, get an empty message and stop
with "Unrecoverable error: JSONDecodeError" (seen in the demo, where beat publishes every
0.5 s). Here a message is written under a name the reader skips, then renamed into place,
which is atomic on one filesystem: a reader sees a whole message or none.

`celery_app` maps the `filesystem://` scheme to this transport, so the URL stays the one
the settings and the docs name.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        """Put `payload` onto `queue`: write a hidden file, then rename it to its name."""
        stamp = int(round(time.monotonic() * 1000))
        final = os.path.join(self.data_folder_out, f"{stamp}_{uuid.uuid4()}.{queue}.msg")
        partial = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
