// Streaming text into a document as it arrives (Complete Here), independent of the vscode API:
// a filter that drops the markdown fence a model may wrap its code in, and an inserter that
// applies one edit at a time, merging deltas that arrive while an edit is in flight.

/**
 * Drops a leading "```lang" line and the closing "```" of a fenced answer, as the text streams.
 * Text that could still turn out to be the fence is held back until it is known.
 */
export class FenceFilter {
  private state: 'deciding' | 'plain' | 'fenced' | 'closed' = 'deciding';
  private held = '';

  push(delta: string): string {
    if (this.state === 'plain') {
      return delta;
    }
    if (this.state === 'closed') {
      return '';
    }
    this.held += delta;
    if (this.state === 'deciding') {
      const start = this.held.trimStart();
      const couldBeFence = start.length < 3 ? '```'.startsWith(start) : start.startsWith('```');
      if (!couldBeFence) {
        this.state = 'plain';
        return this.release();
      }
      const newline = this.held.indexOf('\n');
      if (newline < 0) {
        return '';
      }
      this.held = this.held.slice(newline + 1);
      this.state = 'fenced';
    }
    return this.fencedOutput();
  }

  /** The end of the stream: whatever is held and is not the closing fence. */
  flush(): string {
    if (this.state === 'closed') {
      return '';
    }
    if (this.state === 'fenced') {
      const closing = /\n?[ \t]*`{3,}[ \t]*$/.exec(this.held);
      if (closing) {
        this.held = this.held.slice(0, closing.index);
      }
    }
    this.state = 'closed';
    return this.release();
  }

  private fencedOutput(): string {
    const closing = /(^|\n)[ \t]*`{3,}[ \t]*(\n|$)/.exec(this.held);
    if (closing && closing[2] === '\n') {
      const text = this.held.slice(0, closing.index);
      this.held = '';
      this.state = 'closed';
      return text;
    }
    // Hold back the last line while it might be the closing fence, and the newline before it.
    const lastNewline = this.held.lastIndexOf('\n');
    const tail = this.held.slice(lastNewline + 1);
    const mayClose = /^[ \t]*`*[ \t]*$/.test(tail);
    const keepFrom = mayClose ? Math.max(0, lastNewline) : this.held.length;
    const text = this.held.slice(0, keepFrom);
    this.held = this.held.slice(keepFrom);
    return text;
  }

  private release(): string {
    const text = this.held;
    this.held = '';
    return text;
  }
}

export interface InsertTarget<P> {
  /** Inserts text at `at`; resolves to the position just after it, or undefined when it failed. */
  insert(at: P, text: string): PromiseLike<P | undefined>;
}

/** Applies streamed deltas in order at a moving position, one edit at a time. */
export class StreamInserter<P> {
  private pending = '';
  private running: Promise<void> | undefined;
  private failed = false;
  inserted = '';

  constructor(
    private readonly target: InsertTarget<P>,
    public position: P,
  ) {}

  push(text: string): void {
    if (!text || this.failed) {
      return;
    }
    this.pending += text;
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
    }
  }

  /** Resolves when every delta pushed so far is in the document (or the document refused one). */
  async settled(): Promise<void> {
    while (this.running) {
      await this.running;
    }
  }

  get ok(): boolean {
    return !this.failed;
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.failed) {
      const text = this.pending;
      this.pending = '';
      const next = await this.target.insert(this.position, text);
      if (next === undefined) {
        this.failed = true;
        return;
      }
      this.position = next;
      this.inserted += text;
    }
  }
}

export interface LinePosition {
  line: number;
  character: number;
}

/** Where text inserted at `at` ends, whatever line endings the document turns its newlines into. */
export function positionAfter(at: LinePosition, text: string): LinePosition {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length === 1) {
    return { line: at.line, character: at.character + text.length };
  }
  return { line: at.line + lines.length - 1, character: lines[lines.length - 1].length };
}
