"""registry (登记): the resident master index, deaths, household registration, partner intake."""

SERVICE = "registry"
