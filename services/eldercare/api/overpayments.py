"""/v1/overpayments: allowance paid after a confirmed death; recovered or written off (services/overpayments.py)."""

from __future__ import annotations

from services import overpayments
from services.eldercare.models import Overpayment
from services.eldercare.schemas import OverpaymentOut, ResolutionIn

router = overpayments.router("eldercare", Overpayment, OverpaymentOut, ResolutionIn, what="the old-age allowance")
