"""Argument checks with MindSpore Lite's exception types, and those types as litert errors.

MindSpore Lite raises ``TypeError`` for a wrong argument type, ``ValueError``
for a value out of range and ``RuntimeError`` when building, resizing or
running fails.  The classes below are those built-in types *and*
:class:`litert.errors.LitertError`, so ``except RuntimeError`` in a script
written for MindSpore Lite and ``except LitertError`` both catch them.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Generic, TypeVar, cast, overload

from ..errors import LitertError


class MSLiteTypeError(LitertError, TypeError):
    """An argument of the wrong type (MindSpore Lite raises TypeError)."""


class MSLiteValueError(LitertError, ValueError):
    """An argument out of range (MindSpore Lite raises ValueError)."""


class MSLiteRuntimeError(LitertError, RuntimeError):
    """Building, resizing, converting or predicting failed (MindSpore Lite raises RuntimeError)."""


#: what check_type accepts, as isinstance does
Classes = type | tuple[type, ...]


def _type_name(classes: Classes) -> str:
    if isinstance(classes, tuple):
        return " or ".join(c.__name__ for c in classes)
    return classes.__name__


def check_type(name: str, value: Any, classes: Classes, allow_none: bool = False) -> Any:
    """``value`` when it is an instance of ``classes`` (bool is not an int here), else MSLiteTypeError."""
    if allow_none and value is None:
        return value
    wanted = classes if isinstance(classes, tuple) else (classes,)
    if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted and int in wanted):
        raise MSLiteTypeError(f"{name} must be {_type_name(classes)}, but got {type(value).__name__}.")
    return value


def check_list_of(name: str, value: Any, element: Classes, allow_none: bool = False) -> Any:
    """A list whose elements are all ``element`` instances."""
    if allow_none and value is None:
        return value
    if not isinstance(value, list):
        raise MSLiteTypeError(f"{name} must be list, but got {type(value).__name__}.")
    for index, item in enumerate(value):
        check_type(f"{name} element at index {index}", item, element)
    return value


def check_non_negative(name: str, value: Any) -> int:
    check_type(name, value, int)
    if value < 0:
        raise MSLiteValueError(f"{name} must be a non-negative int, but got {value}.")
    return int(value)


def check_choice(name: str, value: Any, choices: Collection[str]) -> str:
    check_type(name, value, str)
    if value not in choices:
        raise MSLiteValueError(f"{name} must be one of {list(choices)}, but got {value!r}.")
    return str(value)


def check_config_dict(name: str, value: Any) -> dict[str, dict[str, str]]:
    """``{section: {key: value}}`` with str everywhere."""
    check_type(name, value, dict)
    for section, items in value.items():
        check_type(f"{name} key", section, str)
        check_type(f"{name}[{section!r}]", items, dict)
        for key, item in items.items():
            check_type(f"{name}[{section!r}] key", key, str)
            check_type(f"{name}[{section!r}][{key!r}]", item, str)
    return cast("dict[str, dict[str, str]]", value)


T = TypeVar("T")


class Checked(Generic[T]):
    """An option attribute checked when set, as MindSpore Lite's are: ``x = Checked(check)`` keeps the value in
    ``self._x`` and assigns ``check(value)`` (the value to keep, or MindSpore Lite's exception), the
    getter/setter pair each option would otherwise spell out."""

    def __init__(self, check: Callable[[Any], T], doc: str | None = None) -> None:
        self._check = check
        self._private = ""
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._private = "_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Checked[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | Checked[T]:
        if obj is None:
            return self
        return cast(T, getattr(obj, self._private))

    def __set__(self, obj: object, value: T) -> None:
        setattr(obj, self._private, self._check(value))


def typed(name: str, classes: type[T], doc: str | None = None) -> Checked[T]:
    """An option that must be a ``classes`` instance (:func:`check_type`)."""
    return Checked(lambda value: check_type(name, value, classes), doc)


def ruled(name: str, classes: type[T], accept: Callable[[T], bool], refusal: str | Callable[[T], str],
          doc: str | None = None) -> Checked[T]:
    """An option that must be a ``classes`` instance that ``accept`` takes; else MSLiteValueError with ``refusal``
    (MindSpore Lite's message, or a function of the value making it)."""

    def check(value: Any) -> T:
        check_type(name, value, classes)
        if not accept(value):
            raise MSLiteValueError(refusal(value) if callable(refusal) else refusal)
        return cast(T, value)

    return Checked(check, doc)


def non_negative(name: str, doc: str | None = None) -> Checked[int]:
    """An int option of at least 0 (:func:`check_non_negative`)."""
    return Checked(lambda value: check_non_negative(name, value), doc)


def one_of(name: str, choices: Collection[str], doc: str | None = None) -> Checked[str]:
    """A str option among ``choices`` (:func:`check_choice`)."""
    return Checked(lambda value: check_choice(name, value, choices), doc)
