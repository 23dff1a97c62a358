/**
 * The console's HTML, rendered on the server: the whole page for `/`, and
 * the `<main>` part alone for `/console/fragment`, which the page's script
 * fetches again whenever the server announces a change. Action buttons are
 * rendered for admins only.
 */
import { isExpanding, runs } from '../../migration/machine.js';
import { formatDuration } from '../../duration.js';
import type { Principal } from '../auth.js';
import { html, type SafeHtml } from '../html.js';
import type { FlagsView, FlagView, MigrationView, SnapshotView, TimelineEvent } from '../views.js';

/** What one rendering shows. */
export interface ConsoleData {
  schema: string;
  migrations: MigrationView[];
  timelines: Map<string, TimelineEvent[]>;
  flags: FlagsView;
  snapshots: SnapshotView[];
}

/**
 * The whole page.
 *
 * @example
 * reply.type('text/html').send(renderPage(data, principal));
 */
export function renderPage(data: ConsoleData, principal: Principal): string {
  const admin = principal.role === 'admin';
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>curtain console</title>
<link rel="stylesheet" href="/console/app.css">
<script src="/console/app.js" defer></script>
</head>
<body data-role="${principal.role}">
<header>
  <h1>curtain</h1>
  <span class="schema">schema <code>${data.schema}</code></span>
  <span id="live" class="live" data-state="connecting">connecting</span>
  <span class="who">signed in as <b id="who">${principal.name}</b> (${principal.role}${admin ? '' : ', read-only'})</span>
</header>
<main id="main">${renderMain(data, principal)}</main>
${admin ? dialog() : ''}
<div id="toast" role="status" aria-live="polite"></div>
</body>
</html>`.value}\n`;
}

/**
 * The sections (migrations, flags, snapshots), as swapped in by the page's script.
 *
 * @example
 * reply.type('text/html').send(renderMain(data, principal).value);
 */
export function renderMain(data: ConsoleData, principal: Principal): SafeHtml {
  const admin = principal.role === 'admin';
  return html`
<section id="migrations">
  <h2>Migrations <small>${data.migrations.length}</small></h2>
  ${data.migrations.length === 0 ? html`<p class="empty">No migrations yet.</p>` : migrationsTable(data, admin)}
</section>
<section id="flags">
  <h2>Flags <small>${data.flags.flags.length}</small></h2>
  ${data.flags.flags.length === 0 ? html`<p class="empty">No flags yet.</p>` : flagsTable(data.flags.flags, admin)}
  ${debt(data.flags)}
  ${unknown(data.flags)}
</section>
<section id="snapshots">
  <h2>Snapshots <small>${data.snapshots.length}</small></h2>
  ${data.snapshots.length === 0 ? html`<p class="empty">No snapshots yet.</p>` : snapshotsTable(data.snapshots)}
</section>`;
}

function migrationsTable(data: ConsoleData, admin: boolean): SafeHtml {
  const rows = data.migrations.map((m) => {
    const switchable = runs('switch', m.phase) || runs('switch-off', m.phase);
    const expanding = isExpanding(m.phase);
    const paused = m.control?.paused ?? false;
    return html`<tr data-migration="${m.name}">
  <td>
    <details data-key="m:${m.name}">
      <summary><span class="name">${m.name}</span>${m.changed ? html` <span class="bad">changed</span>` : ''}${m.missingFile ? html` <span class="bad">file missing</span>` : ''}</summary>
      ${m.description ? html`<p class="description">${m.description}</p>` : ''}
      ${timeline(data.timelines.get(m.name) ?? [])}
    </details>
  </td>
  <td><span class="phase phase-${m.phase}" data-field="phase">${m.phase}</span></td>
  <td>${m.flag ? html`<code>${m.flag}</code>` : ''}</td>
  <td data-field="state">${m.flagState ?? ''}${m.rolloutPlan ? html`<div class="rollout rollout-${m.rolloutPlan.status}" data-field="rollout-plan">rollout plan: ${m.rolloutPlan.line}</div>` : ''}</td>
  <td class="progress" data-progress="${m.name}" data-rows="${m.backfill?.rowsDone ?? ''}">${m.backfill?.text ?? ''}</td>
  <td class="actions">${
    admin
      ? [
          switchable
            ? html`<button type="button" data-action="switch" data-name="${m.name}" data-enabled="${String(m.enabled ?? false)}" data-rollout="${m.rollout ?? 100}">Switch…</button>`
            : '',
          expanding
            ? paused
              ? html`<button type="button" data-action="resume" data-name="${m.name}">Resume backfill…</button>`
              : html`<button type="button" data-action="pause" data-name="${m.name}">Pause backfill…</button>`
            : '',
        ]
      : ''
  }</td>
</tr>`;
  });
  return html`<table class="list">
<thead><tr><th>migration</th><th>phase</th><th>flag</th><th>state</th><th>backfill</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
}

function timeline(events: TimelineEvent[]): SafeHtml {
  if (events.length === 0) return html`<p class="empty">Not expanded yet.</p>`;
  return html`<table class="timeline">
<thead><tr><th>when</th><th>event</th><th>actor</th><th>took</th><th>guards</th><th>snapshot</th><th>details</th></tr></thead>
<tbody>${events.map((e) => {
    const { passed: _p, forced: _f, snapshotId: _s, ...rest } = e.details;
    const guards = e.guards ? `${(e.guards.passed as string[]).join(', ')}${(e.guards.forced as string[]).length ? ` (forced: ${(e.guards.forced as string[]).join(', ')})` : ''}` : '';
    return html`<tr><td>${when(e.at)}</td><td>${e.event}</td><td class="actor">${e.actor}</td><td>${e.durationMs === null ? '' : formatDuration(e.durationMs)}</td><td>${guards}</td><td>${e.snapshotId ? html`<code>${e.snapshotId}</code>` : ''}</td><td class="details">${Object.keys(rest).length ? JSON.stringify(rest) : ''}</td></tr>`;
  })}</tbody>
</table>`;
}

function flagsTable(flags: FlagView[], admin: boolean): SafeHtml {
  const rows = flags.map(
    (f) => html`<tr data-flag="${f.key}">
  <td>
    <details data-key="f:${f.key}">
      <summary><code class="name">${f.key}</code></summary>
      ${f.description ? html`<p class="description">${f.description}</p>` : ''}
      ${history(f)}
    </details>
  </td>
  <td data-field="state"><span class="state state-${f.enabled ? 'on' : 'off'}">${f.state}</span></td>
  <td>${f.rollout}%</td>
  <td>${f.group ?? ''}</td>
  <td>${f.migration ?? ''}</td>
  <td class="usage">${f.usage.map((u) => html`<span title="${u.liveClients} live client(s)"><b>${u.window}</b> ${u.trueCount} true / ${u.falseCount} false</span> `)}</td>
  <td class="actions">${
    admin && !f.migration && !f.retired
      ? html`<button type="button" data-action="flag" data-key="${f.key}" data-enabled="${String(f.enabled)}" data-rollout="${f.rollout}" data-description="${f.description ?? ''}">Set…</button>`
      : ''
  }</td>
</tr>`,
  );
  return html`<table class="list">
<thead><tr><th>flag</th><th>state</th><th>rollout</th><th>group</th><th>migration</th><th>evaluations (live clients)</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
}

function history(f: FlagView): SafeHtml {
  if (f.history.length === 0) return html``;
  return html`<table class="history">
<thead><tr><th>when</th><th>actor</th><th>action</th><th>change</th><th>reason</th></tr></thead>
<tbody>${f.history.map((e) => html`<tr><td>${when(e.at)}</td><td class="actor">${e.actor}</td><td>${e.action}</td><td>${change(e.before, e.after)}</td><td>${e.reason ?? ''}</td></tr>`)}</tbody>
</table>`;
}

function debt(flags: FlagsView): SafeHtml {
  if (flags.debt.length === 0) return html``;
  return html`<h3>Flag debt <small>${flags.debt.length}</small></h3>
<ul class="debt">${flags.debt.map(
    (d) => html`<li><code>${d.flag}</code>: ${d.reason}${d.references.length ? html`<ul class="refs">${d.references.slice(0, 20).map((r) => html`<li><code>${r}</code></li>`)}</ul>` : ''}</li>`,
  )}</ul>`;
}

function unknown(flags: FlagsView): SafeHtml {
  const u = flags.unknown;
  if (!u || u.evaluations === 0) return html``;
  return html`<p class="unknown">Unknown keys asked of this server since ${when(u.since)}: ${u.evaluations} evaluation(s) of ${u.keys} key(s)${u.top.length ? ` (most: ${u.top.map((t) => `${t.key} ×${t.count}`).join(', ')})` : ''}. They are not flags and are not stored.</p>`;
}

function snapshotsTable(snapshots: SnapshotView[]): SafeHtml {
  return html`<table class="list">
<thead><tr><th>id</th><th>strategy</th><th>status</th><th>taken</th><th>migration</th><th>reason</th><th>covers</th><th>size</th></tr></thead>
<tbody>${snapshots.map(
    (s) => html`<tr data-snapshot="${s.id}">
  <td><code>${s.id}</code></td><td>${s.strategy}</td><td>${s.status}</td><td>${when(s.createdAt)}<br><span class="actor">${s.actor}</span></td>
  <td>${s.migration ?? ''}${s.phase ? ` (${s.phase})` : ''}</td><td>${s.reason ?? ''}</td>
  <td>${s.tables.map((t) => html`<div><code>${t.table}</code> ${t.rows.toLocaleString('en-US')} rows</div>`)}</td>
  <td>${s.sizeBytes === null ? 'gone' : bytes(s.sizeBytes)}</td>
</tr>`,
  )}</tbody>
</table>`;
}

function dialog(): SafeHtml {
  return html`<dialog id="confirm">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <p id="confirm-text"></p>
    <div id="confirm-fields"></div>
    <menu><button type="submit" value="cancel" id="confirm-cancel">Cancel</button> <button type="submit" value="ok" id="confirm-ok">Confirm</button></menu>
  </form>
</dialog>`;
}

function when(d: Date | string | null): string {
  if (!d) return '';
  const date = d instanceof Date ? d : new Date(d);
  return date.toISOString().replace('T', ' ').slice(0, 19);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function change(before: Record<string, unknown> | null, after: Record<string, unknown> | null): string {
  if (!before) return after ? `created (${after.enabled ? `on ${after.rollout}%` : 'off'})` : '';
  if (!after) return 'deleted';
  return (
    Object.keys(after)
      .filter((k) => k !== 'version' && JSON.stringify(before[k]) !== JSON.stringify(after[k]))
      .map((k) => `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`)
      .join(', ') || 'no change'
  );
}
