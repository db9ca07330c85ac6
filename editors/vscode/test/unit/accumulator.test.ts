import { describe, expect, it } from 'vitest';
import { AnswerAccumulator } from '../../src/accumulator';
import { historyMessages, messageView, restoredTurn, savedTurn, type AssistantTurn, type Turn } from '../../src/chatModel';
import type { ChatEvent } from '../../src/protocol';

const stream: ChatEvent[] = [
  { type: 'started', id: 'msg_1', model: 'anthropic/claude-sonnet-4-5' },
  { type: 'thinking', text: 'The user wants ' },
  { type: 'thinking', text: 'a greeting.' },
  { type: 'thinking', text: '', signature: 'sig' },
  { type: 'text', text: 'Hello ' },
  { type: 'text', text: 'there.' },
  { type: 'usage', inputTokens: 21, outputTokens: 3 },
  { type: 'usage', inputTokens: 21, outputTokens: 9, cacheReadInputTokens: 0 },
  { type: 'stop', reason: 'endTurn' },
];

describe('AnswerAccumulator', () => {
  it('folds batches of events into the answer, keeping the last cumulative usage', () => {
    const answer = new AnswerAccumulator();
    answer.apply(stream.slice(0, 4));
    expect(answer.done).toBe(false);
    answer.apply(stream.slice(4));
    expect(answer.model).toBe('anthropic/claude-sonnet-4-5');
    expect(answer.text).toBe('Hello there.');
    expect(answer.thinking).toBe('The user wants a greeting.');
    expect(answer.usage).toEqual({ inputTokens: 21, outputTokens: 9, cacheReadInputTokens: 0 });
    expect(answer.stopReason).toBe('endTurn');
    expect(answer.done).toBe(true);
    expect(answer.outputChars).toBe('The user wants a greeting.Hello there.'.length);
  });

  it('assembles tool calls from their fragments', () => {
    const answer = new AnswerAccumulator();
    answer.apply([
      { type: 'toolUseStart', id: 't1', name: 'get_weather' },
      { type: 'toolUseDelta', id: 't1', inputJson: '{"city":' },
      { type: 'toolUseDelta', id: 't1', inputJson: '"Paris"}' },
      { type: 'toolUse', id: 't1', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'toolUseStart', id: 't2', name: 'broken' },
      { type: 'toolUseJsonParseError', id: 't2', name: 'broken', rawInput: '{', error: 'bad json' },
    ]);
    expect(answer.toolCalls).toEqual([
      { id: 't1', name: 'get_weather', inputJson: '{"city":"Paris"}', input: { city: 'Paris' } },
      { id: 't2', name: 'broken', inputJson: '', parseError: 'bad json' },
    ]);
  });

  it('keeps errors and shows a retry only until text arrives', () => {
    const answer = new AnswerAccumulator();
    answer.apply([{ type: 'retry', attempt: 1, delayMs: 500, reason: 'rateLimited' }]);
    expect(answer.retry?.attempt).toBe(1);
    answer.apply([{ type: 'text', text: 'ok' }]);
    expect(answer.retry).toBeUndefined();
    answer.apply([
      { type: 'error', code: 'network', message: 'the stream ended early' },
      { type: 'stop', reason: 'error' },
    ]);
    expect(answer.errors).toEqual([{ code: 'network', message: 'the stream ended early' }]);
  });

  it('takes the final result as the truth, also when nothing streamed', () => {
    const answer = new AnswerAccumulator();
    answer.finish({
      id: 'r1',
      model: 'openai/gpt-4o',
      content: [
        { type: 'thinking', text: 'hm' },
        { type: 'text', text: 'Whole ' },
        { type: 'text', text: 'answer' },
      ],
      stopReason: 'maxTokens',
      usage: { inputTokens: 3, outputTokens: 4 },
      cost: { inputUsd: 0.1, outputUsd: 0.2, totalUsd: 0.3 },
    });
    expect(answer.text).toBe('Whole answer');
    expect(answer.thinking).toBe('hm');
    expect(answer.cost?.totalUsd).toBe(0.3);
    expect(answer.stopReason).toBe('maxTokens');
  });
});

function user(text: string, content = text, context: string[] = []): Turn {
  return { role: 'user', text, content, context };
}

function assistant(text: string, overrides: Partial<AssistantTurn> = {}): AssistantTurn {
  const answer = new AnswerAccumulator();
  answer.apply([{ type: 'text', text }]);
  return { role: 'assistant', answer, streaming: false, cancelled: false, ...overrides };
}

describe('chat model', () => {
  it('sends every answered exchange, and drops a question whose answer failed empty', () => {
    const turns: Turn[] = [
      user('first'),
      assistant('one'),
      user('failed'),
      assistant('', { error: 'rate limited' }),
      user('now', 'From `a.py`:\n\n```python\nx = 1\n```\n\nnow'),
    ];
    expect(historyMessages(turns)).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'one' },
      { role: 'user', content: 'From `a.py`:\n\n```python\nx = 1\n```\n\nnow' },
    ]);
  });

  it('shows the model, usage and cost of a finished answer, with thinking apart', () => {
    const turn = assistant('');
    turn.answer.apply(stream);
    turn.answer.cost = { inputUsd: 0, outputUsd: 0, totalUsd: 0.0042 };
    const view = messageView(turn);
    expect(view.html).toBe('<p>Hello there.</p>');
    expect(view.thinkingHtml).toBe('<p>The user wants a greeting.</p>');
    expect(view.meta).toBe('anthropic/claude-sonnet-4-5 · 21 in · 9 out · $0.0042');
    expect(view.streaming).toBe(false);
  });

  it('says when it streams, was stopped or failed', () => {
    const streaming = assistant('Hel', { streaming: true });
    streaming.answer.model = 'openai/gpt-4o';
    expect(messageView(streaming).meta).toBe('openai/gpt-4o · streaming…');
    const stopped = assistant('Hel', { cancelled: true });
    expect(messageView(stopped).meta).toBe('stopped');
    const failed = assistant('', { error: 'Invalid API key' });
    expect(messageView(failed).errorHtml).toBe('<p>Invalid API key</p>');
  });

  it("renders an error's markdown, escaped", () => {
    const failed = assistant('', { error: 'No key: set `ANTHROPIC_API_KEY` or see [the docs](https://example.com/keys) <b>' });
    expect(messageView(failed).errorHtml).toBe(
      '<p>No key: set <code>ANTHROPIC_API_KEY</code> or see <a href="https://example.com/keys">the docs</a> &lt;b&gt;</p>',
    );
  });

  it('escapes what the user typed, and shows the chips of what went with it', () => {
    expect(messageView(user('<img src=x onerror=alert(1)>')).html).toBe('<p>&lt;img src=x onerror=alert(1)&gt;</p>');
    expect(messageView(user('why?', 'ctx', ['a.py:1-2', '<b>.ts'])).html).toBe(
      '<div class="context"><span class="chip">a.py:1-2</span><span class="chip">&lt;b&gt;.ts</span></div><p>why?</p>',
    );
  });

  it('keeps a conversation through storage: a saved turn restores as it was shown', () => {
    const answer = assistant('');
    answer.answer.apply(stream);
    answer.answer.cost = { inputUsd: 0, outputUsd: 0, totalUsd: 0.0042 };
    const turns: Turn[] = [user('hi', 'ctx + hi', ['a.py']), answer];
    const restored = JSON.parse(JSON.stringify(turns.map(savedTurn))).map(restoredTurn) as Turn[];
    expect(restored.map(messageView)).toEqual(turns.map(messageView));
    expect(historyMessages(restored)).toEqual(historyMessages(turns));
  });
});
