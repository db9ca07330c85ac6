// Syntax highlighting for the chat's code blocks: highlight.js's core with the languages models
// write most, bundled into the extension (no language is guessed: a block without one stays plain).
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const LANGUAGES = { bash, c, cpp, csharp, css, diff, go, ini, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) {
  hljs.registerLanguage(name, language);
}
// VS Code's language ids and the fence names models use that highlight.js does not know as aliases.
hljs.registerAliases(['shellscript', 'sh', 'zsh', 'shell', 'console'], { languageName: 'bash' });
hljs.registerAliases(['toml'], { languageName: 'ini' });
hljs.registerAliases(['javascriptreact', 'jsx'], { languageName: 'javascript' });
hljs.registerAliases(['typescriptreact', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['jsonc'], { languageName: 'json' });

/** The code as highlighted, escaped HTML; undefined when the language is not one of the bundled ones. */
export function highlightCode(code: string, language: string): string | undefined {
  if (!language || !hljs.getLanguage(language)) {
    return undefined;
  }
  return hljs.highlight(code, { language, ignoreIllegals: true }).value;
}
