import { escapeControl } from '../text/control.js';

/**
 * Text for HTML: markup characters become entities and control characters
 * visible escapes, so nothing a user typed (a description, a reason) can
 * become markup, script, or invisible text.
 *
 * @example
 * html`<td>${flag.description}</td>` // description escaped
 */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return escapeControl(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Markup that is already safe (built by {@link html}). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/**
 * A template tag: interpolated values are escaped unless they are
 * {@link SafeHtml} (or arrays of it).
 *
 * @example
 * const row = html`<tr><td>${name}</td></tr>`;
 * const table = html`<table>${rows}</table>`;
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

function render(v: unknown): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === false || v === null || v === undefined) return '';
  return escapeHtml(v);
}
