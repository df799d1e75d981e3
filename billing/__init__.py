"""Billing: plans bought through RevenueCat, applied to organizations."""
