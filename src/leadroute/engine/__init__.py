"""The routing engine: the roster index, the ledger, the pipeline and the recorder.

Layered under :mod:`leadroute.lifecycle` and the :class:`~leadroute.Router`
façade, over :mod:`leadroute.policy`:

* :mod:`leadroute.engine.index` -- the roster index and shared candidate lists;
* :mod:`leadroute.engine.ledger` -- the working copy of the pool data a call reads and writes;
* :mod:`leadroute.engine.recorder` -- the audit records (and the lab's tallies);
* :mod:`leadroute.engine.pipeline` -- the rule loop and the route interpreter;
* :mod:`leadroute.engine.replay` -- how decisions amended above the engine replay.

The names below are the engine's API for the layers above it; everything else
is internal.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from leadroute.engine.ledger import ChangeSet, Finished, Ledger, MemoryLedger, OwnerMap
from leadroute.engine.pipeline import (
    PROGRESS_EVERY,
    Engine,
    HasEngine,
    Replayed,
    Run,
    check_inputs,
    order_key,
    pick_outcome,
)
from leadroute.engine.recorder import call_digest, decision_id
from leadroute.engine.replay import ReplayPlan

__all__ = [
    "PROGRESS_EVERY",
    "ChangeSet",
    "Engine",
    "Finished",
    "HasEngine",
    "Ledger",
    "MemoryLedger",
    "OwnerMap",
    "ReplayPlan",
    "Replayed",
    "Run",
    "call_digest",
    "check_inputs",
    "decision_id",
    "order_key",
    "pick_outcome",
]
