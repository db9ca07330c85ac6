import { describe, expect, it } from 'vitest';
import { codeBlocks, renderInline, renderMarkdown } from '../../src/markdown';

describe('renderMarkdown', () => {
  it('renders paragraphs, headings and emphasis', () => {
    expect(renderMarkdown('# Title\n\nSome **bold** and *italic* and `code`.\nNext line.')).toBe(
      '<h1>Title</h1>\n<p>Some <strong>bold</strong> and <em>italic</em> and <code>code</code>.<br>Next line.</p>',
    );
  });

  it('renders fenced code with copy, insert and apply buttons, highlighted and escaped', () => {
    const html = renderMarkdown('Try:\n\n```python\nif a < b:\n    print("<hi>")\n```\nDone.');
    expect(html).toContain('<span class="lang">python</span>');
    expect(html).toContain('data-action="copy"');
    expect(html).toContain('data-action="insert"');
    expect(html).toContain('data-action="apply"');
    expect(html).toContain(
      '<pre><code class="hljs language-python"><span class="hljs-keyword">if</span> a &lt; b:\n    ' +
        '<span class="hljs-built_in">print</span>(<span class="hljs-string">&quot;&lt;hi&gt;&quot;</span>)</code></pre>',
    );
    expect(html.endsWith('<p>Done.</p>')).toBe(true);
  });

  it("highlights VS Code's language ids and the usual fence names; leaves unknown ones plain", () => {
    expect(renderMarkdown('```typescriptreact\nconst x = 1;\n```')).toContain('<span class="hljs-keyword">const</span>');
    expect(renderMarkdown('```sh\necho hi\n```')).toContain('<span class="hljs-built_in">echo</span>');
    expect(renderMarkdown('```cobol\n<x>\n```')).toContain('<code class="language-cobol">&lt;x&gt;</code>');
    expect(renderMarkdown('```\n<x>\n```')).toContain('<code>&lt;x&gt;</code>');
  });

  it('shows an unclosed fence (a streaming answer) as an open code block', () => {
    expect(renderMarkdown('```js\nconst x = 1;')).toContain(
      '<code class="hljs language-js"><span class="hljs-keyword">const</span> x = <span class="hljs-number">1</span>;</code>',
    );
  });

  it('renders lists, nested lists, quotes, rules and tables', () => {
    expect(renderMarkdown('- one\n- two\n  - inner')).toBe(
      '<ul><li>one</li><li>two<ul><li>inner</li></ul></li></ul>',
    );
    expect(renderMarkdown('3. c\n4. d')).toBe('<ol start="3"><li>c</li><li>d</li></ol>');
    expect(renderMarkdown('> quoted **text**')).toBe('<blockquote><p>quoted <strong>text</strong></p></blockquote>');
    expect(renderMarkdown('---')).toBe('<hr>');
    expect(renderMarkdown('| a | b |\n|---|--:|\n| 1 | 2 |')).toBe(
      '<table><thead><tr><th>a</th><th class="align-right">b</th></tr></thead>' +
        '<tbody><tr><td>1</td><td class="align-right">2</td></tr></tbody></table>',
    );
  });

  it('never lets HTML or script links through', () => {
    const html = renderMarkdown('<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.com/?a=1&b=2)');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('<a href="https://example.com/?a=1&amp;b=2">ok</a>');
  });

  it('keeps code spans literal and leaves snake_case alone', () => {
    expect(renderInline('`**not bold**` and snake_case_name')).toBe(
      '<code>**not bold**</code> and snake_case_name',
    );
    expect(renderInline('a ``code with ` tick`` b')).toBe('a <code>code with ` tick</code> b');
  });
});

describe('codeBlocks', () => {
  it('finds the fenced blocks the chat draws, the longer fence holding a shorter one', () => {
    expect(codeBlocks('Here:\n```py\nx = 1\n```\nand\n````md\n```\ninner\n```\n````\n')).toEqual([
      { language: 'py', code: 'x = 1' },
      { language: 'md', code: '```\ninner\n```' },
    ]);
    expect(codeBlocks('no code')).toEqual([]);
    expect(codeBlocks('```js\nopen')).toEqual([{ language: 'js', code: 'open' }]);
  });
});
