"""Customers pages: list, detail, CSV import with a column-mapping step, suggestions, merge/undo,
tier rules, exports and erasure. Views parse, check the scope and call services."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hubbub import upload_limits
from hubbub.connectors.hubspot import HubSpotError
from hubbub.crm import (
    activity_log,
    customer_merges,
    hubspot_connection,
    hubspot_oauth,
    identity_links,
    import_columns,
    import_jobs,
    privacy,
    services,
    sync,
)
from hubbub.crm.customer_export import export_response
from hubbub.crm.inputs import CustomerIn, InteractionIn, MergeIn, ProfileLinkIn, TierRulesIn
from hubbub.crm.models import (
    Customer,
    IdentityLink,
    ImportJob,
    Interaction,
    MergeRecord,
    Order,
    SocialProfile,
    SyncConflict,
)
from hubbub.ids import parse_id
from hubbub.inbox.models import Conversation
from hubbub.inputs import InvalidInput, form_input
from hubbub.outbound_http import OutboundError
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role, scoped
from hubbub.web.views.common import scoped_view


def _customer(scope: Scope, customer_id: int) -> Customer:
    return get_scoped_or_404(Customer.objects.all(), scope, brand_field=None, id=customer_id)


def _search(scope: Scope, request: HttpRequest):  # type: ignore[no-untyped-def]
    qs = services.customers_qs(scope)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(email__icontains=q.lower()) | Q(external_id=q))
    tier = request.GET.get("tier", "")
    if tier in Customer.Tier.values:
        qs = qs.filter(tier=tier)
    return qs.order_by("-lifetime_value", "id"), q, tier


@scoped_view
def customer_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    qs, q, tier = _search(scope, request)
    page = Paginator(
        qs.only("id", "name", "email", "tier", "lifetime_value", "order_count", "last_purchase_at"),
        50,
        allow_empty_first_page=True,
    ).get_page(request.GET.get("page"))
    pending = scoped(IdentityLink.objects.filter(status="suggested"), scope, brand_field=None).count()
    return render(
        request,
        "crm/customer_list.html",
        {"page": page, "q": q, "tier": tier, "tiers": Customer.Tier.choices, "pending_suggestions": pending},
    )


@scoped_view
def customer_export(request: HttpRequest, scope: Scope) -> StreamingHttpResponse:
    require_role(scope, Role.AGENT)
    qs, _, _ = _search(scope, request)
    return export_response(qs.iterator(chunk_size=2000))


@scoped_view
def customer_detail(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    c = _customer(scope, customer_id)
    if c.merged_into_id:
        messages.info(request, "This customer was merged; showing the customer it was merged into.")
        return redirect("crm_customer", customer_id=c.merged_into_id)
    profiles = list(SocialProfile.objects.filter(organization_id=scope.organization_id, customer=c)[:100])
    ctx = {
        "c": c,
        "profiles": profiles,
        "links": IdentityLink.objects.filter(customer=c)
        .select_related("profile", "confirmed_by")
        .order_by("-created_at")[:50],
        "orders": Order.objects.filter(customer=c).order_by("-ordered_at")[:50],
        "interactions": Interaction.objects.filter(customer=c).select_related("author")[:50],
        "conversations": scoped(Conversation.objects.filter(author_id__in=[p.pk for p in profiles]), scope)
        .select_related("brand")
        .order_by("-last_message_at")[:50],
        "merges": MergeRecord.objects.filter(Q(survivor=c) | Q(merged=c))
        .select_related("merged", "survivor", "actor")
        .order_by("-created_at")[:20],
        "conflicts": SyncConflict.objects.filter(customer=c)[:20],
        "kinds": [k for k in Interaction.Kind.choices],
        "can_supervise": scope.can(Role.SUPERVISOR),
    }
    return render(request, "crm/customer_detail.html", ctx)


@require_POST
@scoped_view
def customer_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The customer list's "Add" form, read into the API's `CustomerIn` (handles typed in one box)."""
    try:
        c = services.create_customer(scope, form_input(CustomerIn, request.POST))
    except InvalidInput as exc:
        messages.error(request, f"Customer not added: {exc}")
        return redirect("crm_customers")
    return redirect("crm_customer", customer_id=c.pk)


@require_POST
@scoped_view
def interaction_new(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    c = _customer(scope, customer_id)
    try:
        form = form_input(InteractionIn, request.POST)
        services.log_interaction(scope, c, form.kind, form.text, form.score)
        messages.success(request, "Logged.")
    except ValueError as exc:  # InvalidInput: the field and why
        messages.error(request, str(exc))
    nxt = request.POST.get("next", "")  # back to the conversation the panel was in: a link, not an input
    if nxt.startswith("/c/") and "//" not in nxt:
        return redirect(nxt)
    return redirect("crm_customer", customer_id=c.pk)


@require_POST
@scoped_view
def merge(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    survivor = _customer(scope, customer_id)
    try:
        other_id = form_input(MergeIn, request.POST).other_id  # the API's `POST /customers/{id}/merge` body
    except InvalidInput as exc:
        messages.error(request, f"Nothing was merged: {exc}")
        return redirect("crm_customer", customer_id=survivor.pk)
    merged = _customer(scope, other_id)
    try:
        customer_merges.merge_customers(scope, survivor, merged)
        messages.success(request, f"Merged {merged} into {survivor}. You can undo this below.")
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect("crm_customer", customer_id=survivor.pk)


@require_POST
@scoped_view
def unmerge(request: HttpRequest, scope: Scope, merge_id: int) -> HttpResponse:
    record = get_scoped_or_404(
        MergeRecord.objects.select_related("survivor", "merged"), scope, brand_field=None, id=merge_id
    )
    try:
        merged = customer_merges.undo_merge(scope, record)
        messages.success(request, f"Merge undone: {merged} is a separate customer again.")
    except ValueError as exc:
        messages.error(request, str(exc))
        merged = record.merged
    return redirect("crm_customer", customer_id=merged.pk)


@scoped_view
def export_json(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    c = _customer(scope, customer_id)
    response = JsonResponse(privacy.export_customer_data(scope, c), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="customer-{c.pk}.json"'
    return response


@require_POST
@scoped_view
def erase(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    c = _customer(scope, customer_id)
    if request.POST.get("confirm") != "ERASE":
        messages.error(request, "Type ERASE to confirm: erasure cannot be undone.")
        return redirect("crm_customer", customer_id=c.pk)
    counts = privacy.erase_customer(scope, c)
    messages.success(request, f"Erased personal data: {counts['profiles']} profiles, {counts['messages']} messages.")
    return redirect("crm_customer", customer_id=c.pk)


# ------------------------------------------------------------------ links & suggestions


def _link(scope: Scope, link_id: int) -> IdentityLink:
    return get_scoped_or_404(
        IdentityLink.objects.select_related("profile", "customer"), scope, brand_field=None, id=link_id
    )


def _back(request: HttpRequest, fallback: str = "/customers/suggestions/") -> HttpResponse:
    """Back to the page the form was on (`next`), if it is a page of this site; else `fallback`."""
    nxt = request.POST.get("next", "")
    local = nxt.startswith("/") and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()})
    return redirect(nxt if local else fallback)


@require_POST
@scoped_view
def link_decide(request: HttpRequest, scope: Scope, link_id: int, decision: str) -> HttpResponse:
    link = _link(scope, link_id)
    if decision == "confirm":
        identity_links.confirm_suggestion(scope, link)
        messages.success(request, f"Linked @{link.profile.handle} to {link.customer}.")
    else:
        identity_links.reject_suggestion(scope, link)
        messages.success(request, f"Rejected: @{link.profile.handle} is not {link.customer}.")
    return _back(request)


@scoped_view
def suggestions(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = (
        scoped(IdentityLink.objects.filter(status="suggested"), scope, brand_field=None)
        .select_related("profile", "customer")
        .order_by("-confidence", "id")[:200]
    )
    return render(request, "crm/suggestions.html", {"rows": rows})


@require_POST
@scoped_view
def find_matches(request: HttpRequest, scope: Scope, profile_id: int) -> HttpResponse:
    require_role(scope, Role.AGENT)
    p = get_scoped_or_404(SocialProfile.objects.all(), scope, brand_field=None, id=profile_id)
    made = identity_links.suggest_links(scope.organization_id, [p.pk])
    messages.info(
        request,
        f"{len(made)} possible match{'es' if len(made) != 1 else ''} found." if made else "No likely customer found.",
    )
    return _back(request)


@require_POST
@scoped_view
def link_manual(request: HttpRequest, scope: Scope, profile_id: int) -> HttpResponse:
    p = get_scoped_or_404(SocialProfile.objects.all(), scope, brand_field=None, id=profile_id)
    try:
        customer_id = form_input(ProfileLinkIn, request.POST).customer_id
    except InvalidInput as exc:
        messages.error(request, f"Not linked: {exc}")
        return _back(request)
    identity_links.link_profile(scope, p, _customer(scope, customer_id))
    messages.success(request, "Linked.")
    return _back(request)


# ------------------------------------------------------------------ import jobs: upload → map columns → progress

# Room for the form fields and the multipart framing around the file.
_FORM_OVERHEAD = 64 * 1024


def _jobs(scope: Scope) -> QuerySet[ImportJob]:
    """The organisation's import jobs, without the stored files."""
    require_role(scope, Role.SUPERVISOR)
    return scoped(ImportJob.objects.defer("content"), scope, brand_field=None).select_related("created_by")


def _job(scope: Scope, job_id: int) -> ImportJob:
    return get_scoped_or_404(_jobs(scope), scope, brand_field=None, id=job_id)


@scoped_view
def import_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Step 1: upload. The file is checked (size, text, header) and stored on a draft job, whose page
    asks for the columns (step 2) and then shows the import's progress (step 3)."""
    recent = _jobs(scope)[:20]  # checks the role too
    if request.method == "POST":
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        if size > import_jobs.max_upload_bytes() + _FORM_OVERHEAD:  # before the file is read into memory
            messages.error(request, import_jobs.too_large_message(size))
            return redirect("crm_import")
    fmt = request.POST.get("fmt") or request.GET.get("fmt") or "customers"
    if fmt not in import_columns.FIELDS:
        fmt = "customers"
    if request.method == "POST":
        upload = request.FILES.get("file")
        refused = upload_limits.refused(request)  # past the size every upload is held to
        if upload is None or refused:
            messages.error(request, refused or "Choose a CSV file to upload.")
            return redirect(f"{reverse('crm_import')}?fmt={fmt}")
        if upload.size is not None and upload.size > import_jobs.max_upload_bytes():
            messages.error(request, import_jobs.too_large_message(upload.size))
            return redirect(f"{reverse('crm_import')}?fmt={fmt}")
        try:
            job = import_jobs.create_job(scope, fmt, upload.name or "upload.csv", upload.read())
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect(f"{reverse('crm_import')}?fmt={fmt}")
        return redirect("crm_import_job", job_id=job.pk)
    return render(
        request,
        "crm/import.html",
        {
            "fmt": fmt,
            "formats": list(import_columns.FIELDS),
            "jobs": recent,
            "max_bytes": import_jobs.max_upload_bytes(),
        },
    )


@scoped_view
def import_job(request: HttpRequest, scope: Scope, job_id: int) -> HttpResponse:
    """A job's page: the column mapping while it is a draft, then progress, counts and rejected rows."""
    job = _job(scope, job_id)
    ctx: dict[str, object] = {"job": job, "progress": job.progress(), "jobs": _jobs(scope)[:20]}
    if job.status == ImportJob.Status.DRAFT:
        try:
            upload_limits.check_header(job.header)  # a draft stored before the limit: no page of its columns
        except upload_limits.UploadRefused as exc:
            ctx["header_error"] = str(exc)
            return render(request, "crm/import_job.html", ctx)
        try:
            guessed, _unknown = import_columns.resolve_columns(job.fmt, job.header, None)
        except ValueError:
            guessed = {}
        ctx["fields"] = [(f, guessed.get(f, "")) for f in import_columns.FIELDS[job.fmt]]
        ctx["mapping"] = job.mapping
    return render(request, "crm/import_job.html", ctx)


@require_POST
@scoped_view
def import_job_start(request: HttpRequest, scope: Scope, job_id: int) -> HttpResponse:
    job = _job(scope, job_id)
    if job.status == ImportJob.Status.DRAFT:
        mapping = {f: request.POST.get(f"map_{f}", "") for f in import_columns.FIELDS[job.fmt]}
        try:
            import_jobs.start_job(scope, job, mapping)
        except ValueError as exc:
            messages.error(request, str(exc))
    return redirect("crm_import_job", job_id=job.pk)


@scoped_view
def import_job_progress(request: HttpRequest, scope: Scope, job_id: int) -> HttpResponse:
    """The small JSON the job page polls about once a second."""
    response = JsonResponse(_job(scope, job_id).progress())
    response["Cache-Control"] = "no-store"
    return response


@scoped_view
def tier_rules(request: HttpRequest, scope: Scope) -> HttpResponse:
    rules = services.tier_rules(scope.organization_id)
    if request.method == "POST":
        try:
            services.update_tier_rules(scope, form_input(TierRulesIn, request.POST))
            messages.success(request, "Rules saved; every customer's tier was recomputed.")
        except ValueError as exc:  # InvalidInput: the field and why
            messages.error(request, f"Check the numbers: {exc}")
        return redirect("crm_rules")
    return render(request, "crm/rules.html", {"rules": rules, "can_edit": scope.can(Role.SUPERVISOR)})


@scoped_view
def conflicts(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = scoped(SyncConflict.objects.all(), scope, brand_field=None).select_related("customer")[:200]
    channel = hubspot_connection.connected_hubspot_channel(scope.organization_id)
    last = channel.credentials.get("last_sync_ms") if channel is not None else None
    return render(
        request,
        "crm/conflicts.html",
        {
            "rows": rows,
            "connected": channel is not None,
            "last_sync_ms": last,
            "can_sync": scope.can(Role.SUPERVISOR),
        },
    )


@require_POST
@scoped_view
def hubspot_sync(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    retry = request.POST.get("retry", "")
    if retry:  # Retry on Customers → HubSpot: forget the refusal(s), then sync at once
        ids = None if retry == "all" else [i for i in map(parse_id, request.POST.getlist("retry")) if i is not None]
        count = activity_log.retry_rejected(scope, ids)
        messages.info(request, f"{count} refused note{pluralize(count)} will be sent to HubSpot again.")
    try:
        stats = sync.sync_hubspot(scope.organization_id, actor=scope.user)
        messages.success(
            request, "HubSpot sync done: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in stats.items())
        )
        if stats.get("notes_rejected"):
            messages.warning(
                request,
                f"HubSpot refused {stats['notes_rejected']} note{pluralize(stats['notes_rejected'])}; the rest were "
                "synced. See Customers → HubSpot for what HubSpot said, and retry once it is fixed.",
            )
    except (ValueError, HubSpotError) as exc:
        messages.error(request, f"HubSpot sync failed: {exc}")
    except OutboundError as exc:  # unreachable, timed out, or an address the outbound policy refuses
        messages.error(
            request,
            f"HubSpot sync failed: HubSpot could not be reached ({exc.outcome}). What was synced before is kept; "
            "try again later.",
        )
    return _back(request, reverse("crm_conflicts"))


# ---------------------------------------------------------------- HubSpot connection (OAuth)


def _hubspot_callback_url(request: HttpRequest) -> str:
    """The redirect URI sent to HubSpot: the configured one (it must equal the app's registered URL
    exactly), else this server's callback URL as the request sees it."""
    from django.conf import settings

    return settings.HUBSPOT_REDIRECT_URI or request.build_absolute_uri(reverse("crm_hubspot_callback"))


@scoped_view
def hubspot_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Customers → HubSpot: connection status; Sync now for supervisors and admins, Connect / Disconnect
    for admins only (connecting chooses where the whole customer list is synced to)."""
    return render(
        request,
        "crm/hubspot.html",
        {
            "connection": hubspot_connection.hubspot_connection(scope.organization_id),
            "rejected": activity_log.rejected_items(scope.organization_id),
            "can_sync": scope.can(Role.SUPERVISOR),
            "can_connect": scope.can(Role.ADMIN),
            "missing_settings": hubspot_oauth.missing_settings(),
            "redirect_uri": _hubspot_callback_url(request),
            "scopes": (hubspot_oauth.app_config() or hubspot_oauth.AppConfig("", "")).scopes,
        },
    )


@require_POST
@scoped_view
def hubspot_connect(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Start HubSpot's OAuth flow (admin only): off to HubSpot's consent screen, which comes back to the
    callback."""
    require_role(scope, Role.ADMIN)
    try:
        url = hubspot_oauth.start_authorization(scope, _hubspot_callback_url(request))
    except hubspot_oauth.OAuthFlowError as exc:
        messages.error(request, str(exc))
        return redirect("crm_hubspot")
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


@scoped_view
def hubspot_callback(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Where HubSpot sends the browser back: `code` + `state`, or `error` (+ `error_description`). Admin only,
    like the start."""
    require_role(scope, Role.ADMIN)
    state = request.GET.get("state", "")
    error = request.GET.get("error", "")
    if error:
        message = hubspot_oauth.decline_authorization(scope, state, error, request.GET.get("error_description", ""))
        return _hubspot_error(request, message, title="HubSpot was not connected")
    try:
        channel = hubspot_oauth.complete_authorization(scope, state, request.GET.get("code", ""))
    except (hubspot_oauth.OAuthFlowError, ValueError) as exc:
        return _hubspot_error(request, str(exc))
    creds = {k: v for k, v in channel.credentials.items() if k in ("hub_domain", "hub_id")}
    portal = creds.get("hub_domain") or (f"portal {creds['hub_id']}" if creds.get("hub_id") else "your HubSpot account")
    hub = f" (hub id {creds['hub_id']})" if creds.get("hub_domain") and creds.get("hub_id") else ""
    messages.success(
        request, f"HubSpot connected: {portal}{hub}. Contacts sync every 15 minutes, or now with Sync now."
    )
    reset = hubspot_connection.links_reset_by_last_connect(channel)
    if reset is not None:
        messages.warning(
            request,
            f"This is another HubSpot account than the one connected before (hub id {reset['from_hub_id']}): "
            f"{reset['links']} links to that account were reset ({reset['contacts']} contacts, "
            f"{reset['notes']} logged notes). The next sync creates them in this one.",
        )
    return redirect("crm_hubspot")


def _hubspot_error(request: HttpRequest, message: str, title: str = "HubSpot could not be connected") -> HttpResponse:
    response = render(request, "crm/hubspot_error.html", {"title": title, "message": message}, status=400)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@scoped_view
def hubspot_disconnect(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Forget the tokens and stop the sync (admin only, like connecting)."""
    require_role(scope, Role.ADMIN)
    try:
        revoked = hubspot_connection.disconnect_hubspot(scope)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("crm_hubspot")
    messages.success(
        request,
        "HubSpot disconnected: the tokens are deleted here"
        + (
            ", and HubSpot deleted the refresh token."
            if revoked
            else "; HubSpot could not be told, so to be sure remove the app in HubSpot too "
            "(Settings → Integrations → Connected apps)."
        )
        + " Sync stopped; customers keep their HubSpot ids.",
    )
    return redirect("crm_hubspot")
