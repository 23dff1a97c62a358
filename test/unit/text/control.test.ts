import { describe, expect, it } from 'vitest';
import { escapeControl, terminalSafe } from '../../../src/text/control.js';
import { escapeHtml, html } from '../../../src/serve/html.js';

describe('control characters', () => {
  it('are shown as visible escapes, never passed through', () => {
    const hostile = 'ok\x1b]0;pwned\x07 \x1b[2J\u009b31m \u202eevil\r';
    const out = escapeControl(hostile);
    expect(out).toBe('ok\\x1b]0;pwned\\x07 \\x1b[2J\\x9b31m \\u202eevil\\r');
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });

  it('keep newlines and tabs in text, escape them in single-line fields', () => {
    expect(escapeControl('a\n\tb')).toBe('a\n\tb');
    expect(escapeControl('a\n\tb', { singleLine: true })).toBe('a\\n\\tb');
  });

  it('keep only the colour codes a line was given when colours are on', () => {
    const line = '\x1b[1mkey\x1b[22m \x1b]8;;http://evil\x07link';
    expect(terminalSafe(line, { keepColor: true })).toBe('\x1b[1mkey\x1b[22m \\x1b]8;;http://evil\\x07link');
    expect(terminalSafe(line)).toBe('\\x1b[1mkey\\x1b[22m \\x1b]8;;http://evil\\x07link');
  });
});

describe('HTML escaping', () => {
  it('escapes markup and control characters in interpolated values', () => {
    const description = '<script>alert(1)</script>\x1b[31m"quoted" & \'single\'';
    expect(escapeHtml(description)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31m&quot;quoted&quot; &amp; &#39;single&#39;');
    const row = html`<td title="${description}">${description}</td>`;
    expect(row.value).not.toContain('<script>');
    expect(row.value).not.toContain('\x1b');
  });

  it('does not escape markup built by the tag itself', () => {
    const cells = ['a<b', 'c'].map((c) => html`<td>${c}</td>`);
    expect(html`<tr>${cells}</tr>`.value).toBe('<tr><td>a&lt;b</td><td>c</td></tr>');
  });
});
