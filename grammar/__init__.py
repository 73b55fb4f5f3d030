"""The opsflow grammar (``sop.lark``), shipped as package data ``opsflow.grammar``."""
