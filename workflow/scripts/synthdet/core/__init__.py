"""Pieces every stage shares: staged writes, the entry wrapper, errors, names, records, media, masks and boxes, GPU leases."""
