"""GET /v1/payrolls: the payrolls built, by month, with their sums by program, kind and status (paged)."""

from __future__ import annotations

from services import payroll_months
from services.assistance.models import Payroll, PayrollLine, PayrollTotal

router = payroll_months.router(
    "assistance:read", payroll=Payroll, sums=payroll_months.stored_sums(PayrollTotal), lines=PayrollLine
)
