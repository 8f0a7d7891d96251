import * as assert from 'assert';
import { checkResolved, parseProcessId, withDefaults } from '../src/debugConfig';

describe('attach configurations', () => {
  it('turns an empty configuration into attach-with-picker', () => {
    assert.deepStrictEqual(withDefaults({}), {
      type: 'aioscope',
      request: 'attach',
      name: 'Attach to asyncio process (aioscope)',
      processId: '${command:pickProcess}',
    });
    assert.strictEqual(withDefaults({ processId: 42 }).processId, 42);
  });

  it('accepts integer PIDs and the picker\'s string', () => {
    assert.strictEqual(parseProcessId(42), 42);
    assert.strictEqual(parseProcessId(' 4242 '), 4242);
    for (const bad of [0, -1, 1.5, '12a', '', '${command:pickProcess}', null, undefined, {}, 2 ** 31]) {
      assert.strictEqual(parseProcessId(bad), undefined, String(bad));
    }
    const ok = checkResolved({ type: 'aioscope', request: 'attach', processId: '4242', refreshInterval: '500' });
    assert.ok(ok.ok);
    assert.strictEqual(ok.ok && ok.config.processId, 4242);
    assert.strictEqual(ok.ok && ok.config.refreshInterval, 500);
    const bad = checkResolved({ request: 'attach', processId: 'abc' });
    assert.ok(!bad.ok && bad.message.includes('invalid processId "abc"'));
    const launch = checkResolved({ request: 'launch', processId: 1 });
    assert.ok(!launch.ok && launch.message.includes('"request": "attach"'));
  });
});
