"""leadroute: deterministic, explainable sales-lead routing.

>>> from datetime import datetime, timezone
>>> from leadroute import Lead, PoolState, Rep, Router, Rule
>>> from leadroute.strategies import Geo, RoundRobin
>>> router = Router(rules=[Rule(id="cn", route=Geo() >> RoundRobin())])
>>> state = PoolState(reps=(Rep(id="li", territories=("CN",)), Rep(id="wang", territories=("CN-BJ",))))
>>> at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
>>> result = router.assign(state, [Lead(id="L1", created_at=at, region="CN-BJ")])
>>> result.assignments[0].rep_id
'li'

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import logging

from leadroute.accounts import AccountMatch, AccountMatcher
from leadroute.audit import Decision, DecisionInputs, Drop, ReplayResult, RuleTrial, Step
from leadroute.conditions import AllOf, AnyOf, Condition, FieldCondition, Not, Predicate
from leadroute.exceptions import (
    CapacityExceededError,
    ConfigError,
    DuplicateLeadError,
    FileFormatError,
    FutureLeadError,
    InputError,
    LeadAlreadyClosedError,
    LeadAlreadyOpenError,
    LeadrouteError,
    MissingExtraError,
    ModelError,
    StrategyError,
    UnknownLeadError,
    UnknownRepError,
)
from leadroute.lab import (
    Comparison,
    HistoricalOutcome,
    SimulationReport,
    compare,
    simulate,
)
from leadroute.lifecycle import ReclaimPolicy, ReclaimWarning
from leadroute.models import Capacity, Lead, Rep, TimeWindow
from leadroute.ownership import OwnershipPolicy, TransferResult, transfer_accounts
from leadroute.policy import Policy
from leadroute.result import Assignment, RoutingResult
from leadroute.router import Router
from leadroute.rules import Rule
from leadroute.state import (
    ClosedLead,
    OpenLead,
    OwnershipChange,
    PooledLead,
    PoolState,
    RepLoad,
    Rotation,
)
from leadroute.strategies.base import Combinator, Filter, Selector

__version__ = "0.1.0"

# the library's logger: INFO for each call's counts, DEBUG for steps; silent unless the app configures logging
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AccountMatch",
    "AccountMatcher",
    "AllOf",
    "AnyOf",
    "Assignment",
    "Capacity",
    "CapacityExceededError",
    "ClosedLead",
    "Combinator",
    "Comparison",
    "Condition",
    "ConfigError",
    "Decision",
    "DecisionInputs",
    "Drop",
    "DuplicateLeadError",
    "FieldCondition",
    "FileFormatError",
    "Filter",
    "FutureLeadError",
    "HistoricalOutcome",
    "InputError",
    "Lead",
    "LeadAlreadyClosedError",
    "LeadAlreadyOpenError",
    "LeadrouteError",
    "MissingExtraError",
    "ModelError",
    "Not",
    "OpenLead",
    "OwnershipChange",
    "OwnershipPolicy",
    "Policy",
    "PoolState",
    "PooledLead",
    "Predicate",
    "ReclaimPolicy",
    "ReclaimWarning",
    "Rep",
    "RepLoad",
    "ReplayResult",
    "Rotation",
    "Router",
    "RoutingResult",
    "Rule",
    "RuleTrial",
    "Selector",
    "SimulationReport",
    "Step",
    "StrategyError",
    "TimeWindow",
    "TransferResult",
    "UnknownLeadError",
    "UnknownRepError",
    "__version__",
    "compare",
    "simulate",
    "transfer_accounts",
]
