"""Hearing safety and clinical safety flags that change what every tool does."""
