"""Registry use cases: one function per use case, shared by HTTP routes, event handlers and batches.

Each takes a session, changes state, writes its events to the outbox, and
leaves the commit to the caller (the route, the consumer runner, the batch
chunk), so the change and its events commit together. One module per concern:
persons, reports (the one path every partner report takes), deaths, hukou,
reviews, households, marriages, adoptions, milestones, batches.
"""

from services.registry.usecases.common import person_by_id_number
from services.registry.usecases.deaths import DeathResult, report_death
from services.registry.usecases.households import create_household, household_members
from services.registry.usecases.hukou import change_hukou
from services.registry.usecases.persons import register_person

__all__ = [
    "DeathResult",
    "change_hukou",
    "create_household",
    "household_members",
    "person_by_id_number",
    "register_person",
    "report_death",
]
