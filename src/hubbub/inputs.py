"""Typed inputs: one schema per action, read from a web form or a JSON body alike, with readable field errors.

Why: the API validated its body with a pydantic (ninja) schema, the web forms read `request.POST` field by
field, and the services then checked the same values again by hand from a `dict[str, Any]`. One rule lived in
two or three places, worded differently, and a form could accept what the API refused. Now each action has one
input schema (in its app's `inputs.py` or `schemas.py`) that holds its rules; the API endpoint takes it as its
body, the web view reads the posted form into it with `form_input`, and the service takes the validated
instance (or typed values), so a bad value gets the same message at either door.

What this module gives:
- `refuse(message)`: what a schema's validator raises, so the user reads `message` as written (pydantic would
  prefix a plain ValueError's text with "Value error, ");
- `filled(message)`: the rule of a text that must not be empty;
- `checked(Schema, data)`: validate a mapping; `InvalidInput` (a ValueError) on a bad value;
- `form_input(Schema, request.POST)`: the same from a form, with HTML's habits: several values for a list field
  (a multiple select, repeated checkboxes), an unticked checkbox absent, an empty box meaning "not given" for a
  field that is not text;
- `Words`, `SplitIds`: list fields that also take one text box ("refund, vip"; "12 14, 15").

`InvalidInput.errors` maps each field to pydantic's message for it, the very `msg` the API's 422 lists under
that field's `loc`; `str(InvalidInput)` is one sentence for a notice, each message with its field's label when
the message does not name it itself. A core module: it knows pydantic and Django's QueryDict, no app.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

S = TypeVar("S", bound=BaseModel)

#: The error type of `refuse`: a sentence written for the user, shown without a field label.
REFUSED = "refused"
_TRUE = ("on", "1", "true", "yes")


class InvalidInput(ValueError):
    """Some fields of an input do not fit its schema. `errors`: field name → message (the first per field);
    `labels`: field name → how the form names it, for `str()`; `data`: the values as they were given, so a
    form can be shown again as the user typed it."""

    def __init__(
        self,
        errors: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        own: Collection[str] = (),
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.errors = dict(errors)
        self.labels = dict(labels or {})
        self.own = set(own)  # fields whose message is a whole sentence of ours (`refuse`)
        self.data = dict(data or {})
        super().__init__(self.sentence())

    @classmethod
    def of(cls, field: str, message: str) -> InvalidInput:
        """One field refused with a sentence of ours, by code that checks beyond the schema."""
        return cls({field: message}, own=[field])

    def sentence(self) -> str:
        parts = []
        for field, message in self.errors.items():
            if field in self.own or not field:
                parts.append(message)
            else:
                parts.append(f"{self.labels.get(field) or _label(field)}: {message.rstrip('.')}.")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.sentence()


def refuse(message: str) -> PydanticCustomError:
    """The error a schema's validator raises (`raise refuse("A note needs some text.")`): the message reaches
    the API's 422 and the form's field unchanged. Braces in it are kept as typed (no context is given)."""
    return PydanticCustomError(REFUSED, message)


def filled(message: str, cut: int | None = None) -> Callable[[str], str]:
    """A text rule: stripped, refused with `message` when nothing is left, cut to `cut` characters (a column's
    size) when given. `Annotated[str, AfterValidator(filled("A note needs some text."))]`."""

    def check(value: str) -> str:
        value = value.strip()
        if not value:
            raise refuse(message)
        return value[:cut] if cut is not None else value

    return check


def invalid_input(schema: type[BaseModel], exc: ValidationError, data: Mapping[str, Any] | None = None) -> InvalidInput:
    """pydantic's error list as `InvalidInput`: one message per top-level field (the first), keyed by the
    field's name; an error of the whole input (a model validator) under ""."""
    errors: dict[str, str] = {}
    own: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = error.get("loc") or ()
        field = str(loc[0]) if loc else ""
        if field in errors:
            continue
        errors[field] = str(error.get("msg", "")).removeprefix("Value error, ")
        if error.get("type") == REFUSED:
            own.add(field)
    labels = {name: info.title or _label(name) for name, info in schema.model_fields.items()}
    return InvalidInput(errors, labels, own, data)


def checked(schema: type[S], data: Mapping[str, Any] | None = None, /, **values: Any) -> S:
    """`schema` validated from `data` and `values` (which win); `InvalidInput` if a value does not fit."""
    given = {**(data or {}), **values}
    try:
        return schema.model_validate(given)
    except ValidationError as exc:
        raise invalid_input(schema, exc, given) from None


def form_input(schema: type[S], form: Mapping[str, Any], /, *, keep_defaults: Collection[str] = (), **values: Any) -> S:
    """`schema` read from a posted form (a QueryDict, or a plain mapping in tests), as `checked` does.

    Each field of the schema is looked up under its name: a list field takes every value posted under it
    (empty ones dropped), a bool field is a checkbox (absent is False, unless named in `keep_defaults`: a form
    that does not show that box leaves the schema's default), any other field takes the last value, and an
    empty one counts as not given unless the field takes text. A dict field is read from the fields named
    with dots below it, as the JSON body nests them (`targets.first_response.1`, `conditions.brands`): a box
    left empty is not given, a name posted several times (a multiple select) is a list. `values` are set as
    given (path parameters, what the view knows), overriding the form."""
    data: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if name in values:
            continue
        shape = _shape(info.annotation)
        if shape == "dict":
            nested = _nested(form, name)
            if nested is not None:
                data[name] = nested
            continue
        if shape == "list":
            posted = _getlist(form, name)
            if posted or name in form:
                data[name] = [v for v in posted if v.strip()]
            continue
        if name not in form:
            if shape == "bool" and name not in keep_defaults:
                data[name] = False
            continue
        value = (_getlist(form, name) or [""])[-1]
        if value == "" and shape != "text":
            continue
        data[name] = value
    return checked(schema, data, **values)


def _nested(form: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The fields `name.a.b` of a form as `{"a": {"b": value}}`; None when the form has none of them."""
    prefix = f"{name}."
    keys = [k for k in form if isinstance(k, str) and k.startswith(prefix)]
    if not keys:
        return None
    out: dict[str, Any] = {}
    for key in keys:
        posted = [v for v in _getlist(form, key) if v.strip()]
        if not posted:
            continue
        *path, leaf = key.removeprefix(prefix).split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = posted[0] if len(posted) == 1 else posted
    return out


def _getlist(form: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(name)]
    value = form.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _shape(annotation: Any) -> Literal["list", "bool", "text", "dict", "other"]:
    """How a form posts a field of this type: several values, a checkbox, text, named parts, or a value to
    convert."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _shape(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        shapes = {_shape(arg) for arg in get_args(annotation) if arg is not type(None)}
        for shape in ("list", "text", "dict", "bool"):
            if shape in shapes:
                return shape  # type: ignore[return-value]
        return "other"
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        return "list"
    if origin is dict or annotation is dict:
        return "dict"
    if annotation is bool:
        return "bool"
    if annotation is str or (origin is Literal and all(isinstance(a, str) for a in get_args(annotation))):
        return "text"
    if isinstance(annotation, type) and issubclass(annotation, str):  # a TextChoices or str Enum
        return "text"
    return "other"


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def split_words(value: Any) -> Any:
    """A list typed in one box ("refund, vip", or one per line) as its items; lists pass item by item (a
    form's repeated values may each hold several). Empty items are dropped."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        items = (w for v in value for w in (re.split(r"[,\n]", v) if isinstance(v, str) else [v]))
        return [w.strip() if isinstance(w, str) else w for w in items if str(w).strip()]
    return value


def split_ids(value: Any) -> Any:
    """Ids typed in one box ("12 14, #15") as a list; anything else unchanged (the schema judges it)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for v in value:
            if isinstance(v, str):
                out.extend(w.lstrip("#") for w in re.split(r"[,\s]+", v) if w)
            else:
                out.append(v)
        return out
    return value


#: Words listed in one text box or as a JSON list; each stripped, empties dropped.
Words = Annotated[list[str], BeforeValidator(split_words)]
#: For a list of ids: accepts "12 14, #15" from a text box as well as a JSON list.
SplitIds = BeforeValidator(split_ids)
