"""The wire: JSON bytes in and out, validated against the contract's schemas.

Wire messages are plain dicts of primitives; domain types never leave this boundary
as they are (a ledger entry is encoded here, not serialised by the domain).
"""
