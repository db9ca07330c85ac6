// A small markdown renderer for chat answers: the subset models write (fenced code, headings,
// lists, quotes, tables, emphasis, inline code, links). Every piece of text is escaped before
// markup is added, and only http(s)/mailto links are kept, so its HTML is safe to show.
// It copes with a half-streamed answer: an unclosed fence renders as an open code block.
import { highlightCode } from './highlight';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)[-*+]\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

export function renderMarkdown(source: string): string {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const body: string[] = [];
      i += 1;
      while (i < lines.length && !isClosingFence(lines[i], marker)) {
        body.push(lines[i]);
        i += 1;
      }
      i += 1; // the closing fence (or past the end while it streams)
      out.push(codeBlock(body.join('\n'), fence[2]));
      continue;
    }
    if (line.trim() === '') {
      i += 1;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1].length;
      out.push(`<h${level}>${renderInline(heading[2])}</h${level}>`);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push('<hr>');
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        quoted.push(QUOTE.exec(lines[i])![1]);
        i += 1;
      }
      out.push(`<blockquote>${renderMarkdown(quoted.join('\n'))}</blockquote>`);
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      i = renderList(lines, i, out);
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1])) {
      i = renderTable(lines, i, out);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i].trim() !== '' && !startsBlock(lines, i)) {
      paragraph.push(lines[i].trim());
      i += 1;
    }
    out.push(`<p>${paragraph.map(renderInline).join('<br>')}</p>`);
  }
  return out.join('\n');
}

/** The answer's fenced code blocks, as the chat draws them (an unclosed last one included). */
export function codeBlocks(source: string): { language: string; code: string }[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const blocks: { language: string; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]);
    if (!fence) {
      continue;
    }
    const body: string[] = [];
    for (i += 1; i < lines.length && !isClosingFence(lines[i], fence[1]); i++) {
      body.push(lines[i]);
    }
    blocks.push({ language: fence[2], code: body.join('\n') });
  }
  return blocks;
}

function isClosingFence(line: string, marker: string): boolean {
  const trimmed = line.trim();
  return trimmed.length >= marker.length && trimmed[0] === marker[0] && /^(`+|~+)$/.test(trimmed);
}

function startsBlock(lines: string[], i: number): boolean {
  const line = lines[i];
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    BULLET.test(line) ||
    ORDERED.test(line)
  );
}

export function codeBlock(code: string, language: string): string {
  const lang = language.replace(/[^\w+#.-]/g, '');
  const label = lang ? `<span class="lang">${escapeHtml(lang)}</span>` : '';
  const highlighted = highlightCode(code, lang.toLowerCase());
  const cls = lang ? ` class="${highlighted === undefined ? '' : 'hljs '}language-${escapeHtml(lang)}"` : '';
  return (
    '<div class="code-block"><div class="code-actions">' +
    label +
    '<button type="button" data-action="copy" title="Copy">Copy</button>' +
    '<button type="button" data-action="insert" title="Insert at the cursor">Insert</button>' +
    '<button type="button" data-action="apply" title="Apply to the file: a diff to accept or reject">Apply</button>' +
    `</div><pre><code${cls}>${highlighted ?? escapeHtml(code)}</code></pre></div>`
  );
}

function renderList(lines: string[], start: number, out: string[]): number {
  const ordered = ORDERED.test(lines[start]) && !BULLET.test(lines[start]);
  const items: string[] = [];
  let i = start;
  const firstNumber = ordered ? Number(ORDERED.exec(lines[start])![2]) : 1;
  while (i < lines.length) {
    const match = ordered ? ORDERED.exec(lines[i]) : BULLET.exec(lines[i]);
    if (!match) {
      break;
    }
    const body = [ordered ? match[3] : match[2]];
    i += 1;
    // Indented lines that follow belong to the item (a nested list or a wrapped line).
    while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !FENCE.test(lines[i])) {
      body.push(lines[i].replace(/^\s{2,4}/, ''));
      i += 1;
    }
    items.push(body.length === 1 ? renderInline(body[0]) : renderItemBody(body));
  }
  const tag = ordered ? 'ol' : 'ul';
  const startAttr = ordered && firstNumber !== 1 ? ` start="${firstNumber}"` : '';
  out.push(`<${tag}${startAttr}>${items.map((item) => `<li>${item}</li>`).join('')}</${tag}>`);
  return i;
}

function renderItemBody(body: string[]): string {
  const [first, ...rest] = body;
  const nested = rest.some((l) => BULLET.test(l) || ORDERED.test(l));
  if (nested) {
    return renderInline(first) + renderMarkdown(rest.join('\n'));
  }
  return body.map((l) => renderInline(l.trim())).join('<br>');
}

function splitRow(line: string): string[] {
  let row = line.trim();
  if (row.startsWith('|')) {
    row = row.slice(1);
  }
  if (row.endsWith('|') && !row.endsWith('\\|')) {
    row = row.slice(0, -1);
  }
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function renderTable(lines: string[], start: number, out: string[]): number {
  const header = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((cell) =>
    cell.startsWith(':') && cell.endsWith(':') ? 'center' : cell.endsWith(':') ? 'right' : '',
  );
  const alignClass = (col: number): string => (aligns[col] ? ` class="align-${aligns[col]}"` : '');
  let i = start + 2;
  const rows: string[][] = [];
  while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
    rows.push(splitRow(lines[i]));
    i += 1;
  }
  const head = header.map((cell, c) => `<th${alignClass(c)}>${renderInline(cell)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${header.map((_, c) => `<td${alignClass(c)}>${renderInline(row[c] ?? '')}</td>`).join('')}</tr>`,
    )
    .join('');
  out.push(`<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`);
  return i;
}

/** Inline markup: code spans first (their content is literal), then emphasis and links. */
export function renderInline(text: string): string {
  const pieces: string[] = [];
  let rest = text;
  const span = /(`+)([\s\S]*?[^`])\1(?!`)/;
  for (let match = span.exec(rest); match; match = span.exec(rest)) {
    pieces.push(renderEmphasis(rest.slice(0, match.index)));
    pieces.push(`<code>${escapeHtml(match[2].trim() || match[2])}</code>`);
    rest = rest.slice(match.index + match[0].length);
  }
  pieces.push(renderEmphasis(rest));
  return pieces.join('');
}

function renderEmphasis(text: string): string {
  let html = escapeHtml(text);
  html = html.replace(/\[([^\]\n]+)\]\(([^)\s]+)(?:\s+&quot;[^&]*&quot;)?\)/g, (_whole, label: string, url: string) =>
    /^(https?:|mailto:)/i.test(url) ? `<a href="${url}">${label}</a>` : label,
  );
  html = html.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>');
  html = html.replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1<strong>$2</strong>');
  html = html.replace(/(^|[^*\w])\*(?=[^\s*])([^*]*?[^\s*])\*(?![*\w])/g, '$1<em>$2</em>');
  html = html.replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, '$1<em>$2</em>');
  html = html.replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>');
  return html;
}
