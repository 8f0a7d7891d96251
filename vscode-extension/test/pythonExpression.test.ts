import * as assert from 'assert';
import { expressionAt } from '../src/pythonExpression';

/** The expression a hover on the first occurrence of `on` (at offset within it) asks about. */
function hover(line: string, on: string, offset = 0): string | undefined {
  const at = line.indexOf(on);
  assert.ok(at >= 0, `${on} not in ${line}`);
  const e = expressionAt(line, at + offset);
  if (e !== undefined) {
    assert.strictEqual(line.slice(e.start, e.end).replace(/\s+/g, ''), e.expression.replace(/\s+/g, ''), 'the range covers the expression');
  }
  return e?.expression;
}

describe('pythonExpression: what a hover asks about', () => {
  it('names, and attribute chains up to the name under the pointer', () => {
    assert.strictEqual(hover('    url = request.url', 'url'), 'url');
    assert.strictEqual(hover('    x = request.headers.host', 'request'), 'request');
    assert.strictEqual(hover('    x = request.headers.host', 'headers', 3), 'request.headers');
    assert.strictEqual(hover('    x = request.headers.host', 'host'), 'request.headers.host');
    assert.strictEqual(hover('    x = self._queue', '_queue'), 'self._queue');
    assert.strictEqual(hover('    données = état.valeur', 'valeur'), 'état.valeur');
    assert.strictEqual(hover('    x = a . b', 'b'), 'a.b');
  });

  it('subscripts with int and str literals, on the key or the bracket', () => {
    const line = "    name = item['name'] + items[-1] + d[0x1f][\"k\"].v";
    assert.strictEqual(hover(line, "'name'", 2), "item['name']");
    assert.strictEqual(hover(line, "']", 1), "item['name']");
    assert.strictEqual(hover(line, 'item['), 'item');
    assert.strictEqual(hover(line, '-1'), 'items[-1]');
    assert.strictEqual(hover(line, '1]'), 'items[-1]');
    assert.strictEqual(hover(line, '0x1f'), 'd[0x1f]');
    assert.strictEqual(hover(line, '"k"'), 'd[0x1f]["k"]');
    assert.strictEqual(hover(line, '.v', 1), 'd[0x1f]["k"].v');
  });

  it('len() of a chain, on len', () => {
    assert.strictEqual(hover('    n = len(self.items) + 1', 'len'), 'len(self.items)');
    assert.strictEqual(hover('    n = len(self.items) + 1', 'items'), 'self.items');
    assert.strictEqual(hover('    n = len(a + b)', 'len'), 'len');
  });

  it('nothing that would run code, and nothing in comments or strings', () => {
    assert.strictEqual(hover('    x = f(a).b', '.b', 1), undefined);
    assert.strictEqual(hover('    x = items[i]', ']'), undefined);
    assert.strictEqual(hover('    x = items[i]', 'i]'), 'i');
    assert.strictEqual(hover('    x = items[1:2]', '1:'), undefined);
    assert.strictEqual(hover('    x = items[i].y', '.y', 1), undefined);
    assert.strictEqual(hover('    x = "text".join', 'join'), undefined);
    assert.strictEqual(hover('    return None', 'return'), undefined);
    assert.strictEqual(hover('    return None', 'None'), undefined);
    assert.strictEqual(hover('    await x  # the value of y', 'y'), undefined);
    assert.strictEqual(hover("    print('value of y')", 'y'), undefined);
    assert.strictEqual(hover('    x = d[b"k"]', 'k'), undefined);
    assert.strictEqual(hover('    x = d[f"{k}"]', 'k'), undefined);
    assert.strictEqual(hover('    x = 1.5', '1.5'), undefined);
    assert.strictEqual(hover('    x = y', ' = ', 1), undefined);
    assert.strictEqual(expressionAt('', 0), undefined);
    assert.strictEqual(expressionAt('x', 5), undefined);
  });

  it('the keyword argument and the callee by name', () => {
    assert.strictEqual(hover('    fetch(url=base.url, attempt=2)', 'fetch'), 'fetch');
    assert.strictEqual(hover('    fetch(url=base.url, attempt=2)', 'url,', 0), 'base.url');
  });
});
