"""Saiken: receivables management and automated dunning for Japanese creditors."""

__version__ = "0.1.0"
