"""Service locations: a workspace's registry of premises (a market's service points), their
imports (the ERCOT TDSP ESI ID extract, CSV, JSON Lines) and the address search."""
