"""The old-age allowance found without asking: discovery, the monthly payroll, overpayments."""
