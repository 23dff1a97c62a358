/**
 * The console's script and stylesheet, served as static files (the page's
 * Content-Security-Policy allows no inline script or style). Plain browser
 * JavaScript, no build step: live updates arrive as server-sent events from
 * `/api/events`; a `state` event re-fetches the server-rendered sections, a
 * `progress` event updates backfill lines in place. Actions ask for
 * confirmation in a dialog, then call the JSON API.
 */

export const CONSOLE_JS = String.raw`'use strict';
(() => {
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const toast = document.getElementById('toast');
  const dialog = document.getElementById('confirm');

  const setLive = (state, title) => {
    live.dataset.state = state;
    live.textContent = state === 'ok' ? 'live' : state;
    live.title = title || '';
  };
  const say = (text, bad) => {
    toast.textContent = text;
    toast.dataset.kind = bad ? 'error' : 'ok';
    toast.hidden = false;
  };

  // Which <details> are open survives re-rendering.
  const openKeys = new Set([...main.querySelectorAll('details[open]')].map((d) => d.dataset.key));
  document.addEventListener('toggle', (e) => {
    const d = e.target;
    if (!(d instanceof HTMLDetailsElement) || !d.dataset.key) return;
    if (d.open) openKeys.add(d.dataset.key);
    else openKeys.delete(d.dataset.key);
  }, true);

  // Re-render the sections; requests arriving meanwhile collapse into one more.
  let running = null;
  let again = false;
  const refresh = () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        const res = await fetch('/console/fragment', { cache: 'no-store' });
        if (!res.ok) {
          setLive('error', 'refresh failed: HTTP ' + res.status);
          break;
        }
        const html = await res.text();
        // The DOM is the truth right now: a toggle event is dispatched later, and never reaches the document
        // once its <details> has been replaced, so a click just before a re-render would be lost.
        for (const d of main.querySelectorAll('details[data-key]')) {
          if (d.open) openKeys.add(d.dataset.key);
          else openKeys.delete(d.dataset.key);
        }
        main.innerHTML = html;
        for (const d of main.querySelectorAll('details[data-key]')) if (openKeys.has(d.dataset.key)) d.open = true;
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const events = new EventSource('/api/events');
  events.addEventListener('open', () => setLive('ok'));
  events.addEventListener('error', () => setLive('reconnecting'));
  events.addEventListener('state', () => void refresh());
  events.addEventListener('progress', (e) => {
    for (const p of JSON.parse(e.data)) {
      const cell = [...main.querySelectorAll('[data-progress]')].find((c) => c.dataset.progress === p.migration);
      if (!cell) continue;
      cell.textContent = p.text;
      cell.dataset.rows = String(p.rowsDone);
    }
  });

  if (!dialog) return; // read-only: no actions

  const field = (label, input) => {
    const wrap = document.createElement('label');
    wrap.append(label + ' ', input);
    return wrap;
  };
  const input = (id, attrs) => {
    const el = document.createElement('input');
    el.id = id;
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'checked') el.checked = Boolean(v);
      else el.setAttribute(k, String(v));
    }
    return el;
  };

  // Build the dialog for an action; returns the request to send on confirm.
  const prepare = (b) => {
    const fields = document.getElementById('confirm-fields');
    fields.replaceChildren();
    const title = document.getElementById('confirm-title');
    const text = document.getElementById('confirm-text');
    const name = b.dataset.name;
    if (b.dataset.action === 'switch') {
      title.textContent = 'Switch ' + name;
      text.textContent = 'Choose the share of subjects that take the new path. The change reaches every flags client at once and is audited under your key\'s name.';
      const on = b.dataset.enabled === 'true';
      const percent = input('field-percent', { type: 'number', min: 0, max: 100, step: 1, value: on ? b.dataset.rollout : 100 });
      const off = input('field-off', { type: 'checkbox', checked: false });
      fields.append(field('percent', percent), field('turn off', off));
      return () => ({
        method: 'POST',
        url: '/api/migrations/' + encodeURIComponent(name) + '/switch',
        body: off.checked ? { off: true } : { percent: Number(percent.value) },
        done: off.checked ? name + ' switched off' : name + ' switched to ' + percent.value + ' %',
      });
    }
    if (b.dataset.action === 'pause' || b.dataset.action === 'resume') {
      const verb = b.dataset.action;
      title.textContent = (verb === 'pause' ? 'Pause' : 'Resume') + ' the backfill of ' + name;
      text.textContent = verb === 'pause' ? 'The backfill stops before its next batch and holds no lock while paused.' : 'The backfill goes on from where it stopped.';
      return () => ({ method: 'POST', url: '/api/migrations/' + encodeURIComponent(name) + '/backfill/' + verb, body: {}, done: 'backfill of ' + name + ' ' + verb + 'd' });
    }
    if (b.dataset.action === 'flag') {
      const key = b.dataset.key;
      title.textContent = 'Set flag ' + key;
      text.textContent = 'Changes reach every flags client at once and are audited under your key\'s name.';
      const enabled = input('field-enabled', { type: 'checkbox', checked: b.dataset.enabled === 'true' });
      const percent = input('field-percent', { type: 'number', min: 0, max: 100, step: 1, value: b.dataset.rollout });
      const description = input('field-description', { type: 'text', maxlength: 1000, value: b.dataset.description || '' });
      // The field shows the description as the page does (control characters as visible escapes, and an
      // input drops newlines), not as stored: send it only when edited, so confirming keeps the stored text.
      const shown = description.value;
      const reason = input('field-reason', { type: 'text', maxlength: 500, value: '' });
      fields.append(field('on', enabled), field('percent', percent), field('description', description), field('reason', reason));
      return () => ({
        method: 'PUT',
        url: '/api/flags/' + encodeURIComponent(key),
        body: {
          enabled: enabled.checked,
          percent: Number(percent.value),
          ...(description.value !== shown ? { description: description.value || null } : {}),
          ...(reason.value ? { reason: reason.value } : {}),
        },
        done: key + ' updated',
      });
    }
    return null;
  };

  let pending = null;
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action]');
    if (!b) return;
    pending = prepare(b);
    if (pending) dialog.showModal();
  });
  dialog.addEventListener('close', async () => {
    const build = pending;
    pending = null;
    if (dialog.returnValue !== 'ok' || !build) return;
    const req = build();
    say('working…');
    try {
      const res = await fetch(req.url, { method: req.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(req.body) });
      const body = await res.json().catch(() => ({}));
      if (res.ok) say(req.done);
      else say((body.message || 'HTTP ' + res.status) + (body.hint ? ' — ' + body.hint : ''), true);
    } catch (err) {
      say(String(err), true);
    }
    await refresh();
  });
})();
`;

export const CONSOLE_CSS = `
:root { --fg: #1d232b; --muted: #5d6b7a; --line: #dde3ea; --bg: #f7f9fb; --accent: #2f6fde; --ok: #1c7c4a; --warn: #a86400; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.2rem; align-items: baseline; padding: .8rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 1.25rem; letter-spacing: .02em; }
header .who { margin-left: auto; color: var(--muted); }
.live { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #eee; }
.live[data-state="ok"] { background: #dff5e8; color: var(--ok); }
.live[data-state="reconnecting"], .live[data-state="error"] { background: #fde8e6; color: var(--bad); }
main { padding: 0 1.5rem 2rem; }
section { margin-top: 1.5rem; }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
h2 small, h3 small { color: var(--muted); font-weight: normal; }
h3 { font-size: .95rem; margin: 1rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
table.list { border: 1px solid var(--line); }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
table.timeline, table.history { margin: .4rem 0; font-size: .85rem; background: var(--bg); }
td.details { font-family: ui-monospace, monospace; font-size: .75rem; color: var(--muted); word-break: break-all; }
code { font-family: ui-monospace, "SF Mono", Menlo, monospace; font-size: .9em; }
summary { cursor: pointer; }
.name { font-weight: 600; }
.description { margin: .3rem 0; color: var(--muted); white-space: pre-wrap; }
.phase, .state { display: inline-block; padding: 0 .45rem; border-radius: .3rem; font-size: .85rem; background: #eef1f5; }
.phase-expanding, .phase-contracting, .phase-aborting { background: #fff3d6; color: var(--warn); }
.phase-expanded { background: #e4eefc; color: var(--accent); }
.phase-switched { background: #e6e2fb; color: #5b3cc4; }
.phase-contracted, .state-on { background: #dff5e8; color: var(--ok); }
.phase-pending { color: var(--muted); }
.bad { color: var(--bad); font-size: .8rem; }
.rollout { font-size: .8rem; color: var(--muted); white-space: normal; max-width: 28rem; }
.rollout-stopped { color: var(--bad); }
.progress { font-variant-numeric: tabular-nums; white-space: nowrap; }
td[data-field] { white-space: nowrap; }
.usage span { display: inline-block; margin-right: .6rem; font-variant-numeric: tabular-nums; white-space: nowrap; }
.actor { color: var(--muted); }
.actions { white-space: nowrap; }
button { font: inherit; padding: .2rem .7rem; border: 1px solid var(--accent); border-radius: .3rem; background: #fff; color: var(--accent); cursor: pointer; }
button:hover { background: #eef4ff; }
#confirm-ok { background: var(--accent); color: #fff; }
dialog { border: 1px solid var(--line); border-radius: .5rem; padding: 1.2rem 1.4rem; min-width: 24rem; }
dialog h2 { margin-top: 0; }
dialog label { display: block; margin: .5rem 0; }
dialog menu { display: flex; gap: .5rem; justify-content: flex-end; padding: 0; margin: 1rem 0 0; }
.empty { color: var(--muted); }
.debt li { margin: .3rem 0; }
.refs { color: var(--muted); font-size: .85rem; }
.unknown { color: var(--muted); font-size: .85rem; }
#toast { position: fixed; bottom: 1rem; right: 1rem; padding: .5rem .9rem; border-radius: .4rem; background: #1d232b; color: #fff; }
#toast:empty { display: none; }
#toast[data-kind="error"] { background: var(--bad); }
`;
