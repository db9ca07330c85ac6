// What the chat attaches from the editor (the active file or its selection, and #file picks) and
// how that goes into the question the model reads (pure: unit tested).

export interface Attachment {
  /** Stable key: the uri, plus the lines for a selection. */
  key: string;
  /** What the chip says, e.g. `sample.py:1-2`. */
  label: string;
  kind: 'file' | 'selection';
  fileName: string;
  languageId: string;
  text: string;
  /** 1-based, for a selection. */
  startLine?: number;
  endLine?: number;
}

/** The attachments the next question carries, and whether the editor's own one is on. */
export interface ContextState {
  editor: Attachment | undefined;
  editorOn: boolean;
  files: Attachment[];
}

export function fence(code: string, languageId: string): string {
  const longest = Math.max(2, ...Array.from(code.matchAll(/`+/g), (m) => m[0].length));
  const marker = '`'.repeat(longest + 1);
  return `${marker}${languageId}\n${code}\n${marker}`;
}

export function lineSpan(start: number, end: number): string {
  return start === end ? `line ${start}` : `lines ${start}-${end}`;
}

export function chipLabel(attachment: Attachment): string {
  if (attachment.kind === 'selection' && attachment.startLine !== undefined && attachment.endLine !== undefined) {
    const lines =
      attachment.startLine === attachment.endLine ? `${attachment.startLine}` : `${attachment.startLine}-${attachment.endLine}`;
    return `${attachment.fileName}:${lines}`;
  }
  return attachment.fileName;
}

export function describeAttachment(attachment: Attachment): string {
  const where =
    attachment.kind === 'selection' && attachment.startLine !== undefined && attachment.endLine !== undefined
      ? ` (${lineSpan(attachment.startLine, attachment.endLine)})`
      : '';
  return `From \`${attachment.fileName}\`${where}:\n\n${fence(attachment.text, attachment.languageId)}`;
}

/** The attachments that go with the next question: the editor's (when on) first, no repeats. */
export function activeAttachments(state: ContextState): Attachment[] {
  const chosen = state.editorOn && state.editor ? [state.editor] : [];
  for (const file of state.files) {
    if (!chosen.some((other) => other.key === file.key)) {
      chosen.push(file);
    }
  }
  return chosen;
}

/** The text the model reads for one question: its attachments, then the question. */
export function withContext(question: string, attachments: readonly Attachment[]): string {
  if (attachments.length === 0) {
    return question;
  }
  return `${attachments.map(describeAttachment).join('\n\n')}\n\n${question.trim()}`;
}
