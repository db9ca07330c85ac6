import { describe, expect, it } from 'vitest';
import { ConversationStore, titleFor, type Conversation, type MementoLike } from '../../src/conversations';

/** The workspace Memento's contract: values go through JSON. */
class MemoryMemento implements MementoLike {
  private readonly values = new Map<string, string>();
  get<T>(key: string): T | undefined {
    const value = this.values.get(key);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }
  update(key: string, value: unknown): Thenable<void> {
    this.values.set(key, JSON.stringify(value));
    return Promise.resolve();
  }
}

function conversation(id: string, updated: number, title = id): Conversation {
  return { id, title, updated, turns: [{ role: 'user', text: 'q', content: 'q', context: [] }] };
}

describe('saved conversations', () => {
  it('lists them newest first, and saving again updates in place', async () => {
    const store = new ConversationStore(new MemoryMemento());
    expect(store.list()).toEqual([]);
    await store.save(conversation('a', 1));
    await store.save(conversation('b', 2));
    await store.save({ ...conversation('a', 3), title: 'a again' });
    expect(store.list().map((c) => [c.id, c.title])).toEqual([
      ['a', 'a again'],
      ['b', 'b'],
    ]);
  });

  it('renames and deletes, and says when there was nothing to change', async () => {
    const store = new ConversationStore(new MemoryMemento());
    await store.save(conversation('a', 1));
    expect(await store.rename('a', '  Parser bug  ')).toBe(true);
    expect(store.get('a')?.title).toBe('Parser bug');
    expect(await store.rename('a', '   ')).toBe(false);
    expect(await store.rename('nope', 'x')).toBe(false);
    expect(await store.delete('nope')).toBe(false);
    expect(await store.delete('a')).toBe(true);
    expect(store.list()).toEqual([]);
  });

  it('titles a conversation by its first question, on one line and short', () => {
    expect(titleFor('  How do I\n parse TOML?  ')).toBe('How do I parse TOML?');
    expect(titleFor('x'.repeat(100))).toHaveLength(60);
    expect(titleFor('x'.repeat(100)).endsWith('…')).toBe(true);
    expect(titleFor('   ')).toBe('New chat');
  });
});
