"""The states of what a setup creates: a device in the inventory, a program subscription, a
device location. Setup steps (servicetask/steps/) move them; nothing else does.

    device:        in_stock ─reserve─▶ reserved ─install─▶ installed ─activate─▶ active
                   (reserved|installed ─release, utility-owned─▶ in_stock;
                    installed|active ─retire─▶ deactivated)
    subscription:  inactive ─setup completes─▶ active ─unenroll─▶ inactive
    location:      active ─setup ended or unenrolled─▶ inactive
"""

from __future__ import annotations

from enum import StrEnum


class DeviceStatus(StrEnum):
    IN_STOCK = "in_stock"
    RESERVED = "reserved"
    INSTALLED = "installed"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class LocationStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
