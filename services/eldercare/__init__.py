"""eldercare (养老服务): elders, assessments, the old-age allowance, home care, institutions."""

SERVICE = "eldercare"
