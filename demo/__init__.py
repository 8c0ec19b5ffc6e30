"""The demo estate: realistic rows in every register so every screen has content on a fresh
machine (`flask demo seed`). It uses the models' own operations, as the desk would; models/
holds the data layer alone.

    people.py     the estate, its buildings, units, residents and one account per role
    demands.py    demands in every state of the loop, with work orders and callbacks
    frontdesk.py  keys, decorations with deposits and passes, goods releases
    office.py     guide, printing, emergencies, roster, move-ins (community.py: batches,
                  surveys, committee, tenancies)
    rectification.py  整改 items from those registers and from inspections, in every state
"""

from __future__ import annotations

import random

from demo.demands import seed_demands
from demo.frontdesk import seed_front_desk
from demo.notify import seed_notify
from demo.office import seed_office
from demo.people import DEMO_PASSWORD, seed_estate
from demo.rectification import seed_rectification

__all__ = ["DEMO_PASSWORD", "seed"]


def seed(*, units: int = 1000, seed: int = 20261126) -> dict[str, int]:
    """Create the DEMO estate with ~`units` flats and rows in every register; returns counts."""
    rng = random.Random(seed)
    estate, counts = seed_estate(rng, units)
    seed_notify(estate)
    counts["业户需求"] = seed_demands(estate, rng)
    seed_front_desk(estate, rng)
    seed_office(estate, rng)
    counts["整改"] = seed_rectification(estate)
    return counts
