// The messages the editor commands send (pure: unit tested).
import type { Message } from './protocol';

export interface CodeContext {
  /** The file name as the user knows it (workspace-relative when possible). */
  fileName: string;
  languageId: string;
  code: string;
  startLine: number; // 1-based
  endLine: number;
}

function fence(code: string, languageId: string): string {
  const longest = Math.max(2, ...Array.from(code.matchAll(/`+/g), (m) => m[0].length));
  const marker = '`'.repeat(longest + 1);
  return `${marker}${languageId}\n${code}\n${marker}`;
}

export function describeContext(context: CodeContext): string {
  const lines =
    context.startLine === context.endLine
      ? `line ${context.startLine}`
      : `lines ${context.startLine}-${context.endLine}`;
  return `From \`${context.fileName}\` (${lines}):\n\n${fence(context.code, context.languageId)}`;
}

export function askAboutSelection(context: CodeContext, question: string): string {
  return `${describeContext(context)}\n\n${question.trim()}`;
}

/** Explain Selection's rewrite: the same code, with comments that explain it. */
export const EXPLAIN_INSTRUCTION =
  'keep the code exactly as it is and add comments that explain what it does, step by step, ' +
  'and point out anything surprising.';

export const REFACTOR_SYSTEM =
  'You rewrite code. Answer with the rewritten code only, in one fenced code block, ' +
  'with no explanation before or after it. Keep the indentation of the original.';

export function refactorSelection(context: CodeContext, instruction: string): Message[] {
  return [
    {
      role: 'user',
      content: `${describeContext(context)}\n\nRewrite this code: ${instruction.trim()}`,
    },
  ];
}

/** The code of the first fenced block of an answer, or the whole answer when it has none. */
export function extractCode(answer: string): string {
  const match = /(^|\n)[ \t]*(`{3,}|~{3,})[^\n]*\n([\s\S]*?)\n[ \t]*\2[ \t]*(\n|$)/.exec(answer);
  if (match) {
    return match[3];
  }
  const open = /(^|\n)[ \t]*(`{3,}|~{3,})[^\n]*\n([\s\S]*)$/.exec(answer);
  return open ? open[3] : answer.trim();
}

/** The rewrite, ending like the original did (a selection of whole lines keeps its last newline). */
export function fitReplacement(original: string, replacement: string): string {
  const ending = /\r?\n$/.exec(original)?.[0] ?? '';
  const body = replacement.replace(/\s+$/, '');
  const trailingSpace = ending ? '' : (/[ \t]*$/.exec(original)?.[0] ?? '');
  return body + trailingSpace + ending;
}
