// Folds the streamed ChatEvents of one answer into what the chat view and the status bar show.
import type { ChatEvent, ChatResult, Cost, StopReason, Usage } from './protocol';

export interface ToolCallView {
  id: string;
  name: string;
  inputJson: string;
  input?: unknown;
  parseError?: string;
}

export class AnswerAccumulator {
  id: string | undefined;
  model: string | undefined;
  text = '';
  thinking = '';
  redactedThinking = 0;
  readonly toolCalls: ToolCallView[] = [];
  usage: Usage | undefined;
  cost: Cost | null | undefined;
  stopReason: StopReason | undefined;
  readonly errors: { code: string; message: string }[] = [];
  retry: { attempt: number; delayMs: number; reason: string } | undefined;
  /** Characters that grew the answer (text, thinking, tool arguments): the progress estimate. */
  outputChars = 0;

  apply(events: readonly ChatEvent[]): void {
    for (const event of events) {
      this.applyOne(event);
    }
  }

  private applyOne(event: ChatEvent): void {
    switch (event.type) {
      case 'started':
        this.id = event.id;
        this.model = event.model;
        break;
      case 'text':
        this.text += event.text;
        this.outputChars += event.text.length;
        this.retry = undefined;
        break;
      case 'thinking':
        this.thinking += event.text;
        this.outputChars += event.text.length;
        break;
      case 'redactedThinking':
        this.redactedThinking += 1;
        break;
      case 'toolUseStart':
        this.toolCalls.push({ id: event.id, name: event.name, inputJson: '' });
        break;
      case 'toolUseDelta': {
        this.toolCall(event.id).inputJson += event.inputJson;
        this.outputChars += event.inputJson.length;
        break;
      }
      case 'toolUse': {
        const call = this.toolCall(event.id, event.name);
        call.input = event.input;
        break;
      }
      case 'toolUseJsonParseError': {
        const call = this.toolCall(event.id, event.name);
        call.parseError = event.error;
        break;
      }
      case 'usage': {
        const { type: _type, ...usage } = event;
        this.usage = usage;
        break;
      }
      case 'retry':
        this.retry = { attempt: event.attempt, delayMs: event.delayMs, reason: event.reason };
        break;
      case 'stop':
        this.stopReason = event.reason;
        this.retry = undefined;
        break;
      case 'error':
        this.errors.push({ code: event.code, message: event.message });
        break;
    }
  }

  private toolCall(id: string, name = ''): ToolCallView {
    let call = this.toolCalls.find((c) => c.id === id);
    if (!call) {
      call = { id, name, inputJson: '' };
      this.toolCalls.push(call);
    }
    return call;
  }

  /** The final result is the truth: it fills in what the stream missed (or a non-streamed answer). */
  finish(result: ChatResult): void {
    this.id = result.id;
    this.model = result.model;
    this.usage = result.usage;
    this.cost = result.cost;
    this.stopReason = result.stopReason;
    const text = result.content
      .filter((part) => part.type === 'text')
      .map((part) => (part as { text: string }).text)
      .join('');
    if (text.length >= this.text.length) {
      this.text = text;
    }
    const thinking = result.content
      .filter((part) => part.type === 'thinking')
      .map((part) => (part as { text: string }).text)
      .join('');
    if (thinking.length > this.thinking.length) {
      this.thinking = thinking;
    }
  }

  get done(): boolean {
    return this.stopReason !== undefined;
  }
}
