"""The stage cache: an unchanged stage is restored instead of run, through safe formats only.

``key`` says what a stage's result depends on (``analysis`` and ``scopes`` read its code, ``fingerprints``
digests what it reads); ``replay`` says which of its statements a restore runs again; ``codecs`` turns its
outputs into Arrow, npy, JSON and skops bytes; ``entries`` keeps
them in the store as content-addressed artifacts; ``observer`` hangs all of it on the stage hooks, and
``records`` copies what the source stage recorded into a restored one. ``docs/cache.md`` is the guide.
"""

from __future__ import annotations

#: The stage cache's name among the session's stage observers (and its key in a stage's scratch state).
NAME = "cache"
