"""The sandbox's web page: post as a customer (mentioning the brand's account) and read the threads, so a
person trying Hubbub sees a mention reach the inbox and the agent's reply come back under it.

Everything shown is escaped; the page is for loopback only and has no accounts or passwords.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubbub.connectors.sandbox.mastodon_fake import MastodonFake, Status

MAX_DEPTH = 12


def handle_post(fake: MastodonFake, form: dict[str, str]) -> None:
    """A customer's post from the page's form. A new post that names nobody mentions the brand, since the
    point of the page is to write to it."""
    username = "".join(c for c in form.get("username", "") if c.isalnum() or c == "_")[:30] or "customer"
    text = form.get("text", "").strip()[:500]
    if not text:
        return
    reply_to = form.get("in_reply_to_id", "").strip()
    if not reply_to and "@" not in text:
        text = f"@{fake.brand_username} {text}"
    try:
        fake.state.post_as(username, text, reply_to or None, form.get("visibility", "public"))
    except LookupError:
        pass  # the post answered was never there: nothing to add


def render(fake: MastodonFake) -> str:
    roots = fake.state.thread_roots()
    threads = "".join(_thread(fake, s, 0) for s in roots) or (
        "<p class='empty'>No posts yet. Write one above: it mentions "
        f"@{escape(fake.brand_username)}, and Hubbub picks it up at its next poll.</p>"
    )
    brand = escape(fake.brand_username)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mastodon sandbox · Hubbub</title>
<style>
body{{font:15px/1.45 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}}
.post{{border-left:3px solid #6364ff;padding:.4rem .8rem;margin:.6rem 0;background:#f6f6ff}}
.post.brand{{border-color:#2b8a3e;background:#f0faf2}} .meta{{color:#555;font-size:.85em}}
.replies{{margin-left:1.4rem}} form.inline{{margin-top:.3rem}} textarea{{width:100%;min-height:3.5rem}}
label{{display:block;margin:.4rem 0 .1rem}}
</style></head><body>
<h1>Mastodon sandbox</h1>
<p>A local stand-in for a Mastodon server. The brand's account is <strong>@{brand}</strong>; Hubbub is
connected to it. Post as a customer below: the mention appears in Hubbub's inbox at the next poll, and an
agent's reply appears here, threaded under the post. <a href="/">Refresh</a> to see new replies.</p>
<form method="post" action="/sandbox/post">
<label for="username">Your customer name</label><input id="username" name="username" value="customer" required>
<label for="text">Post (mentions @{brand} unless you name someone)</label>
<textarea id="text" name="text" maxlength="500" required>@{brand} </textarea>
<label for="visibility">Visibility</label>
<select id="visibility" name="visibility"><option>public</option><option>unlisted</option>
<option>private</option><option>direct</option></select>
<p><button>Post</button></p></form>
<h2>Threads</h2>
{threads}
</body></html>"""


def _thread(fake: MastodonFake, status: Status, depth: int) -> str:
    is_brand = status.account.username == fake.brand_username
    replies = fake.state.replies_to(status) if depth < MAX_DEPTH else []
    reply_form = (
        f'<form class="inline" method="post" action="/sandbox/post">'
        f'<input type="hidden" name="in_reply_to_id" value="{escape(status.id)}">'
        f'<input type="hidden" name="visibility" value="{escape(status.visibility)}">'
        f'<input name="username" value="{escape(status.account.username if not is_brand else "customer")}" '
        f'aria-label="Reply as" size="12"> <input name="text" aria-label="Reply" '
        f'value="@{escape(status.account.username)} " size="40"> <button>Reply</button></form>'
    )
    children = "".join(_thread(fake, r, depth + 1) for r in replies)
    return (
        f'<div class="post{" brand" if is_brand else ""}" id="s{escape(status.id)}">'
        f'<div class="meta">@{escape(status.account.username)} · {escape(status.visibility)} · '
        f"{status.created_at:%Y-%m-%d %H:%M:%S} UTC</div>"
        f"<div>{escape(status.text)}</div>{reply_form}"
        f'<div class="replies">{children}</div></div>'
    )
