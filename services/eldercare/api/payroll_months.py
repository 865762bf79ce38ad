"""GET /v1/payrolls: the payrolls built, by month, with their sums by kind and status (paged)."""

from __future__ import annotations

from services import payroll_months
from services.eldercare.models import Payroll, PayrollLine

router = payroll_months.router(
    "eldercare:read",
    payroll=Payroll,
    sums=payroll_months.line_sums(PayrollLine, "old_age_allowance"),
    lines=PayrollLine,
)
