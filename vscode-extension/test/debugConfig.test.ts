import * as assert from 'assert';
import { AttachConfig, checkResolved, parseProcessId, withDefaults, withSettings } from '../src/debugConfig';

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

  it('passes aioscope.stuckThreshold on in milliseconds unless the configuration sets it', () => {
    const c = (config: AttachConfig, seconds: number): unknown => withSettings(config, { stuckThresholdSeconds: seconds }).stuckThreshold;
    assert.strictEqual(c({ processId: 1 }, 30), 30000);
    assert.strictEqual(c({ processId: 1 }, 0.5), 500);
    assert.strictEqual(c({ processId: 1, stuckThreshold: 2000 }, 30), 2000);
    assert.strictEqual(c({ processId: 1 }, 0), undefined);
    const ok = checkResolved<AttachConfig>({ processId: 4242, stuckThreshold: '5000', blockedThreshold: '250' });
    assert.ok(ok.ok);
    assert.strictEqual(ok.ok && ok.config.stuckThreshold, 5000);
    assert.strictEqual(ok.ok && ok.config.blockedThreshold, 250);
  });
});
