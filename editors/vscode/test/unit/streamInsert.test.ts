import { describe, expect, it } from 'vitest';
import { FenceFilter, positionAfter, StreamInserter, type LinePosition } from '../../src/streamInsert';

function filtered(deltas: string[]): string {
  const filter = new FenceFilter();
  return deltas.map((delta) => filter.push(delta)).join('') + filter.flush();
}

/** Every split of `text` into two and three pieces gives the same output. */
function allSplits(text: string): string[][] {
  const splits: string[][] = [[text]];
  for (let i = 1; i < text.length; i++) {
    splits.push([text.slice(0, i), text.slice(i)]);
    for (let j = i + 1; j < text.length; j += 3) {
      splits.push([text.slice(0, i), text.slice(i, j), text.slice(j)]);
    }
  }
  return splits;
}

describe('FenceFilter', () => {
  it('passes plain text through as it arrives', () => {
    const filter = new FenceFilter();
    expect(filter.push('return a ')).toBe('return a ');
    expect(filter.push('+ b;')).toBe('+ b;');
    expect(filter.flush()).toBe('');
  });

  it('drops the fence around a fenced answer, however it is split', () => {
    for (const split of allSplits('```ts\nconst x = 1;\nreturn x;\n```\n')) {
      expect(filtered(split)).toBe('const x = 1;\nreturn x;');
    }
    for (const split of allSplits('```\nx\n```')) {
      expect(filtered(split)).toBe('x');
    }
  });

  it('streams the code inside the fence before the fence closes', () => {
    const filter = new FenceFilter();
    expect(filter.push('```py\nfor i in')).toBe('for i in');
    expect(filter.push(' range(3):\n    pri')).toBe(' range(3):\n    pri');
    expect(filter.push('nt(i)\n``')).toBe('nt(i)');
    expect(filter.push('`')).toBe('');
    expect(filter.flush()).toBe('');
  });

  it('drops what follows the closing fence', () => {
    expect(filtered(['```\ncode\n```\nThis code does X.'])).toBe('code');
  });

  it('keeps backticks that are not a fence', () => {
    expect(filtered(['`x` is ', 'a name'])).toBe('`x` is a name');
    expect(filtered(['``', 'y'])).toBe('``y');
  });
});

describe('StreamInserter', () => {
  /** A fake document: a string; positions are offsets. Each edit resolves on the next tick. */
  function fakeDocument(initial: string) {
    const doc = { text: initial, edits: [] as string[], refuseAfter: Infinity };
    const target = {
      insert(at: number, text: string): Promise<number | undefined> {
        return new Promise((resolve) =>
          setTimeout(() => {
            if (doc.edits.length >= doc.refuseAfter) {
              resolve(undefined);
              return;
            }
            doc.text = doc.text.slice(0, at) + text + doc.text.slice(at);
            doc.edits.push(text);
            resolve(at + text.length);
          }, 1),
        );
      },
    };
    return { doc, target };
  }

  it('inserts deltas in order at the moving cursor, merging those that wait', async () => {
    const { doc, target } = fakeDocument('fn() {  }');
    const inserter = new StreamInserter(target, 7);
    inserter.push('ret');
    inserter.push('urn ');
    inserter.push('42;');
    await inserter.settled();
    expect(doc.text).toBe('fn() { return 42; }');
    expect(doc.edits).toEqual(['ret', 'urn 42;']);
    expect(inserter.inserted).toBe('return 42;');
    inserter.push(' // done');
    await inserter.settled();
    expect(doc.text).toBe('fn() { return 42; // done }');
    expect(inserter.position).toBe(25);
  });

  it('stops for good when the document refuses an edit, keeping what went in', async () => {
    const { doc, target } = fakeDocument('');
    doc.refuseAfter = 1;
    const inserter = new StreamInserter(target, 0);
    inserter.push('a');
    await inserter.settled();
    inserter.push('b');
    await inserter.settled();
    inserter.push('c');
    await inserter.settled();
    expect(doc.text).toBe('a');
    expect(inserter.ok).toBe(false);
    expect(inserter.inserted).toBe('a');
  });
});

describe('positionAfter', () => {
  const at: LinePosition = { line: 4, character: 8 };
  it('moves along the line, or to the last inserted line', () => {
    expect(positionAfter(at, 'abc')).toEqual({ line: 4, character: 11 });
    expect(positionAfter(at, 'abc\n  de')).toEqual({ line: 5, character: 4 });
    expect(positionAfter(at, 'a\r\nb\r\n')).toEqual({ line: 6, character: 0 });
  });
});
