// The chat's conversation and what the webview shows of it (pure: unit tested).
import { AnswerAccumulator } from './accumulator';
import { requestSummary } from './format';
import { escapeHtml, renderMarkdown } from './markdown';
import type { SavedTurn } from './conversations';
import type { Message } from './protocol';

export interface UserTurn {
  role: 'user';
  /** What the user typed. */
  text: string;
  /** What the model reads: the question with its attachments. */
  content: string;
  /** The chips of what was attached. */
  context: string[];
}

export interface AssistantTurn {
  role: 'assistant';
  answer: AnswerAccumulator;
  streaming: boolean;
  cancelled: boolean;
  error?: string;
}

export type Turn = UserTurn | AssistantTurn;

/** What the webview draws for one message; html is already safe. */
export interface MessageView {
  role: 'user' | 'assistant';
  html: string;
  thinkingHtml: string;
  meta: string;
  streaming: boolean;
  /** The error, rendered from its markdown (safe HTML); empty when none. */
  errorHtml: string;
}

const STOP_NOTES: Record<string, string> = {
  maxTokens: 'stopped at the token limit',
  refusal: 'the model refused',
  contentFilter: 'stopped by the content filter',
  toolUse: 'asked to use a tool',
};

export function messageView(turn: Turn): MessageView {
  if (turn.role === 'user') {
    const chips = turn.context.map((label) => `<span class="chip">${escapeHtml(label)}</span>`).join('');
    const html = (chips ? `<div class="context">${chips}</div>` : '') + renderMarkdown(turn.text);
    return { role: 'user', html, thinkingHtml: '', meta: '', streaming: false, errorHtml: '' };
  }
  const answer = turn.answer;
  const parts: string[] = [];
  if (answer.model) {
    parts.push(answer.model);
  }
  if (turn.streaming) {
    parts.push(answer.retry ? `retrying (attempt ${answer.retry.attempt}): ${answer.retry.reason}` : 'streaming…');
  } else if (answer.usage) {
    parts.push(requestSummary(answer.usage, answer.cost));
  }
  if (turn.cancelled) {
    parts.push('stopped');
  } else if (answer.stopReason && STOP_NOTES[answer.stopReason]) {
    parts.push(STOP_NOTES[answer.stopReason]);
  }
  let html = renderMarkdown(answer.text);
  for (const call of answer.toolCalls) {
    const input = call.input !== undefined ? JSON.stringify(call.input) : call.inputJson;
    html += `<p class="tool-call">Tool call: <code>${escapeHtml(call.name)}(${escapeHtml(input)})</code></p>`;
  }
  const errors = [...answer.errors.map((e) => e.message), ...(turn.error ? [turn.error] : [])];
  return {
    role: 'assistant',
    html,
    thinkingHtml: answer.thinking ? renderMarkdown(answer.thinking) : '',
    meta: parts.join(' · '),
    streaming: turn.streaming,
    errorHtml: Array.from(new Set(errors)).map(renderMarkdown).join(''),
  };
}

/**
 * The messages to send: every exchange that has an answer. A question whose answer failed or
 * was stopped before any text is left out, so the roles keep alternating.
 */
export function historyMessages(turns: readonly Turn[]): Message[] {
  const messages: Message[] = [];
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i];
    if (turn.role !== 'user') {
      continue;
    }
    const reply = turns[i + 1];
    if (reply === undefined) {
      messages.push({ role: 'user', content: turn.content });
    } else if (reply.role === 'assistant' && reply.answer.text) {
      messages.push({ role: 'user', content: turn.content }, { role: 'assistant', content: reply.answer.text });
    }
  }
  return messages;
}

/** A turn as it is kept in the workspace's storage. */
export function savedTurn(turn: Turn): SavedTurn {
  if (turn.role === 'user') {
    return { role: 'user', text: turn.text, content: turn.content, context: turn.context };
  }
  const answer = turn.answer;
  return {
    role: 'assistant',
    text: answer.text,
    thinking: answer.thinking || undefined,
    model: answer.model,
    usage: answer.usage,
    cost: answer.cost,
    stopReason: answer.stopReason,
    cancelled: turn.cancelled || undefined,
    error: turn.error ?? (answer.errors.length ? answer.errors.map((e) => e.message).join('\n') : undefined),
  };
}

/** A stored turn, back as the chat shows it (a finished answer). */
export function restoredTurn(saved: SavedTurn): Turn {
  if (saved.role === 'user') {
    return { role: 'user', text: saved.text, content: saved.content ?? saved.text, context: saved.context ?? [] };
  }
  const answer = new AnswerAccumulator();
  answer.text = saved.text;
  answer.thinking = saved.thinking ?? '';
  answer.model = saved.model;
  answer.usage = saved.usage;
  answer.cost = saved.cost;
  answer.stopReason = saved.stopReason;
  return { role: 'assistant', answer, streaming: false, cancelled: saved.cancelled ?? false, error: saved.error };
}
