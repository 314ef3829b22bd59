class InvalidMessage(ValueError):
    """Bytes that are not a valid message of their topic; str() is the dead-letter reason."""
