"""monitoring (动态监测): the low-income population database and its early warnings."""

SERVICE = "monitoring"
