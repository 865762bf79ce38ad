"""/v1/overpayments: what was paid after a confirmed death; recovered or written off (services/overpayments.py)."""

from __future__ import annotations

from services import overpayments
from services.assistance.models import Overpayment
from services.assistance.schemas import OverpaymentOut, ResolutionIn

router = overpayments.router("assistance", Overpayment, OverpaymentOut, ResolutionIn, what="assistance")
