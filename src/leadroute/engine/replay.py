"""How a decision amended by a call above the engine is replayed (reclaim, transfer).

:meth:`Engine.replay_decision <leadroute.engine.Engine.replay_decision>` re-routes
a decision's lead from its recorded inputs. The decisions of
:meth:`Router.assign <leadroute.Router.assign>` are the route's output as is;
those of ``reclaim`` and ``transfer_accounts`` are routed the same way and then
amended by the lifecycle (a reason, a note step, ownership facts). The layer that
made them describes those amendments with a :class:`ReplayPlan`, so the engine
never needs to know about them.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from leadroute.audit import Decision

__all__ = ["ReplayPlan"]


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """How to replay a decision made by ``made_by`` (``"reclaim"``, ``"transfer"``).

    ``rule_id``: route the lead through this rule alone, its ``when`` not
    checked (as ``Run.route_rule`` does for a nurture rule); ``None``: through
    all the rules. ``amend`` turns the routed decision into the recorded kind
    (reason, note steps, facts), the way the call that made it did.
    ``refused`` (non-empty): why the decision cannot be replayed; nothing is
    routed then.
    """

    made_by: str
    amend: Callable[[Decision], Decision] | None = None
    rule_id: str | None = None
    refused: str = ""
