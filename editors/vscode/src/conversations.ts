// Saved conversations: kept in the workspace's storage (a Memento), newest first (pure: unit tested
// with an in-memory Memento).
import type { Cost, StopReason, Usage } from './protocol';

export interface SavedUserTurn {
  role: 'user';
  text: string;
  /** What the model read: the question with its attachments. */
  content: string;
  context: string[];
}

export interface SavedAssistantTurn {
  role: 'assistant';
  text: string;
  thinking?: string;
  model?: string;
  usage?: Usage;
  cost?: Cost | null;
  stopReason?: StopReason;
  cancelled?: boolean;
  error?: string;
}

export type SavedTurn = SavedUserTurn | SavedAssistantTurn;

export interface Conversation {
  id: string;
  title: string;
  /** Milliseconds since the epoch. */
  updated: number;
  turns: SavedTurn[];
}

export interface MementoLike {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

const KEY = 'switchboard.conversations';
const MAX_CONVERSATIONS = 200;
const TITLE_LENGTH = 60;

export function titleFor(question: string): string {
  const line = question.replace(/\s+/g, ' ').trim();
  return line.length <= TITLE_LENGTH ? line || 'New chat' : `${line.slice(0, TITLE_LENGTH - 1)}…`;
}

export class ConversationStore {
  constructor(private readonly memento: MementoLike) {}

  list(): Conversation[] {
    const stored = this.memento.get<Conversation[]>(KEY);
    return Array.isArray(stored) ? [...stored].sort((a, b) => b.updated - a.updated) : [];
  }

  get(id: string): Conversation | undefined {
    return this.list().find((conversation) => conversation.id === id);
  }

  /** Stores the conversation (a new one, or its latest state), keeping its title if it has one. */
  async save(conversation: Conversation): Promise<void> {
    const others = this.list().filter((other) => other.id !== conversation.id);
    await this.memento.update(KEY, [conversation, ...others].slice(0, MAX_CONVERSATIONS));
  }

  async rename(id: string, title: string): Promise<boolean> {
    const conversation = this.get(id);
    const trimmed = title.trim();
    if (!conversation || !trimmed) {
      return false;
    }
    const all = this.list().map((other) => (other.id === id ? { ...other, title: trimmed } : other));
    await this.memento.update(KEY, all);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    const all = this.list();
    const kept = all.filter((other) => other.id !== id);
    if (kept.length === all.length) {
      return false;
    }
    await this.memento.update(KEY, kept);
    return true;
  }
}
