"""assistance (社会救助): dibao, tekun, temporary assistance, orphans, disability subsidies."""

SERVICE = "assistance"
