"""What the List* operations added by studio.py and monitoring.py share: sorting, paging,
timestamps and the reserved `emulator:` tags; securityhub.py pages with it too.

SageMaker's List* calls page with MaxResults (1-100, default 10) and an opaque NextToken, and
answer ValidationException for values out of range; the callers here do the same, so code that
pages is tested by paging. Other services page the same way with their own default and error
(Security Hub's GetFindings: default 100, InvalidInputException). No install(): the modules
import it.
"""

import datetime

from moto.sagemaker.exceptions import ValidationError

RESERVED_PREFIX = "emulator:"
DEFAULT_MAX_RESULTS = 10


def ordered(items, key, sort_order, default_order):
    """Items sorted by `key`, as SortOrder (or the operation's default) asks."""
    order = sort_order or default_order
    if order not in ("Ascending", "Descending"):
        raise ValidationError(message=f"Invalid SortOrder '{order}'.")
    return sorted(items, key=key, reverse=order == "Descending")


def page(items, max_results, next_token, default_size=DEFAULT_MAX_RESULTS, error=ValidationError):
    """One page of `items` and the token for the next (None on the last page).

    The token is the offset of the next item, which is all a client may rely on: it hands it
    back unchanged. `error(message=...)` is the exception the service answers bad values with."""
    size = default_size if max_results is None else int(max_results)
    if not 1 <= size <= 100:
        raise error(message=f"MaxResults must be between 1 and 100, got {size}.")
    try:
        start = int(next_token) if next_token else 0
    except ValueError:
        start = -1
    if start < 0:
        raise error(message=f"Invalid NextToken '{next_token}'.")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def naive_utc(value):
    """A naive UTC datetime (how moto keeps times) from a request timestamp or epoch seconds."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value
    return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc).replace(tzinfo=None)


def epoch_tag(key, value):
    """A reserved tag's value read as epoch seconds; ValidationException when it is not one."""
    try:
        return naive_utc(float(value))
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(message=f"Tag {key} must be epoch seconds, got '{value}'.") from None


def split_reserved(tags):
    """(ordinary tags, {reserved key: value}): reserved tags steer the emulator and are never
    stored, so code under test cannot see them."""
    kept, reserved = [], {}
    for tag in tags or []:
        if tag["Key"].startswith(RESERVED_PREFIX):
            reserved[tag["Key"]] = tag.get("Value", "")
        else:
            kept.append(tag)
    return kept, reserved


def merged_tags(*tag_lists):
    """Tag lists merged by key, an earlier list winning, in first-seen order (AWS keeps one
    value per key)."""
    merged = {}
    for tags in tag_lists:
        for tag in tags or []:
            merged.setdefault(tag["Key"], tag)
    return list(merged.values())
