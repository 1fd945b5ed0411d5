"""One generic for the API's plain CRUD endpoints: list, create, update and delete of one model.

Why: the routing rules, SLA policies, approval policies, canned responses and business hours of
`workflow.api`, and the listening queries of `listening.api`, were hand-written copies of the same
few endpoints. Each app now states only what differs (the path, the schemas, who may list, which
service function writes) and `register_crud` writes the endpoints.

The generated views carry the name, module and docstring a hand-written endpoint would have, so
the OpenAPI document (operation ids, summaries, descriptions, parameter names, status codes and
error bodies) and the Django URL names are the same as those of the copies they replace. Writes
go through the app's services, which check the role and audit; this module only parses and
routes, like any endpoint.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Router, Schema, Status

from hubbub.api.auth import request_scope
from hubbub.api.schemas import Id, answers
from hubbub.tenancy.scoping import Scope, get_scoped_or_404

Data = Any  # the validated body: an instance of the Crud's `schema_in`


@dataclass(frozen=True)
class Endpoint:
    """One generated endpoint: its view function's name (operation id, summary, URL name), docstring
    (the OpenAPI description) and the error responses it documents besides its success."""

    name: str
    doc: str = ""
    errors: dict[int, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Crud:
    """A model's CRUD endpoints under `path` (`{path}/{<id_param>}` for one row).

    `rows` answers the list (it checks the role itself); `create(scope, data)` and
    `update(scope, row, data)` are service calls taking the validated body (the `schema_in`
    instance, the typed input the app's web form reads too) and return the row (or a ninja
    `Status` for an answer of their own); `delete(scope, row)` removes it.
    Update and delete find the row with `get_scoped_or_404(queryset, scope, brand_field, id=...)`,
    so a row outside the caller's scope is a 404.
    """

    module: str  # the API module the endpoints belong to: part of each operation id
    path: str
    schema_in: type[Schema]
    schema_out: type[Schema]
    queryset: Callable[[], QuerySet[Any]]
    id_param: str = "id"
    brand_field: str | None = None


def register_crud(
    router: Router,
    crud: Crud,
    *,
    rows: tuple[Endpoint, Callable[[Scope], Iterable[Model]]] | None = None,
    create: tuple[Endpoint, Callable[[Scope, Data], Any]] | None = None,
    update: tuple[Endpoint, Callable[[Scope, Any, Data], Any]] | None = None,
    delete: tuple[Endpoint, Callable[[Scope, Any], None]] | None = None,
) -> None:
    """Add the endpoints given (in this order: list, create, update, delete) to `router`."""
    if rows is not None:
        _add_list(router, crud, *rows)
    if create is not None:
        _add_create(router, crud, *create)
    if update is not None:
        _add_update(router, crud, *update)
    if delete is not None:
        _add_delete(router, crud, *delete)


def _add_list(router: Router, crud: Crud, ep: Endpoint, rows: Callable[[Scope], Iterable[Model]]) -> None:
    def view(request: HttpRequest) -> Any:
        return list(rows(request_scope(request)))

    responses = answers({200: list[crud.schema_out], **ep.errors})  # type: ignore[name-defined]
    router.get(crud.path, response=responses)(_named(view, crud, ep, []))


def _add_create(router: Router, crud: Crud, ep: Endpoint, create: Callable[[Scope, Data], Any]) -> None:
    def view(request: HttpRequest, body: Schema) -> Any:
        made = create(request_scope(request), body)
        return made if isinstance(made, Status) else Status(201, made)

    responses = answers({201: crud.schema_out, **ep.errors})
    router.post(crud.path, response=responses)(_named(view, crud, ep, [("body", crud.schema_in)]))


def _add_update(router: Router, crud: Crud, ep: Endpoint, update: Callable[[Scope, Any, Data], Any]) -> None:
    def view(request: HttpRequest, **params: Any) -> Any:
        scope = request_scope(request)
        return update(scope, _row(crud, scope, params), params["body"])

    responses = answers({200: crud.schema_out, **ep.errors}, 404)
    params = [(crud.id_param, Id), ("body", crud.schema_in)]
    router.put(f"{crud.path}/{{{crud.id_param}}}", response=responses)(_named(view, crud, ep, params))


def _add_delete(router: Router, crud: Crud, ep: Endpoint, delete: Callable[[Scope, Any], None]) -> None:
    def view(request: HttpRequest, **params: Any) -> Any:
        scope = request_scope(request)
        delete(scope, _row(crud, scope, params))
        return Status(204, None)

    responses = answers({204: None, **ep.errors}, 404)
    router.delete(f"{crud.path}/{{{crud.id_param}}}", response=responses)(_named(view, crud, ep, [(crud.id_param, Id)]))


def _row(crud: Crud, scope: Scope, params: dict[str, Any]) -> Any:
    return get_scoped_or_404(crud.queryset(), scope, crud.brand_field, id=params[crud.id_param])


def _named(view: Callable[..., Any], crud: Crud, ep: Endpoint, params: list[tuple[str, Any]]) -> Callable[..., Any]:
    """Give the generated view the identity ninja reads: name and module (operation id, summary,
    URL name), docstring (description) and the signature its parameters are parsed from."""
    view.__name__ = view.__qualname__ = ep.name
    view.__module__ = crud.module
    view.__doc__ = ep.doc or None
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HttpRequest)
    view.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [request] + [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=t) for n, t in params]
    )
    return view
