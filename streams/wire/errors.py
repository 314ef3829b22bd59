class InvalidMessage(ValueError):
    """Bytes that are not a valid message of their topic; str() is the dead-letter reason.

    ``code`` sorts the reasons for counting: "malformed" (not a JSON object of a sane
    size) or "schema" (a JSON object its topic's schema refuses).
    """

    def __init__(self, reason: str, code: str = "schema") -> None:
        super().__init__(reason)
        self.code = code
