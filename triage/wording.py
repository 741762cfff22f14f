"""Small pieces of wording that every layer uses."""


def counted(number: int, thing: str, things: str | None = None) -> str:
    """'1 entry', '2 entries', '1,500 checks': a count and its noun, singular or plural (the
    plural is ``thing`` + 's' unless given)."""
    return f"{number:,} {thing if number == 1 else things or thing + 's'}"
