// Failed-login throttling per client address, on a clock the test moves; the address a request is throttled under.
import { describe, expect, it } from 'vitest';
import { clientAddress, memoryAuthThrottle } from './auth-throttle.js';

function throttleWith(options: { failures?: number; windowMs?: number; maxAddresses?: number } = {}) {
  const clock = { t: 0 };
  const lines: string[] = [];
  const throttle = memoryAuthThrottle({
    failures: options.failures ?? 3,
    windowMs: options.windowMs ?? 60_000,
    maxAddresses: options.maxAddresses,
    logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) },
    now: () => clock.t,
  });
  return { throttle, clock, lines };
}

describe('memoryAuthThrottle', () => {
  it('the failure that reaches the limit blocks the address for the window, with the seconds left; other addresses are not touched', () => {
    const { throttle, clock } = throttleWith();
    for (let i = 0; i < 2; i++) {
      expect(throttle.check('203.0.113.7')).toBeUndefined();
      throttle.failure('203.0.113.7');
    }
    expect(throttle.check('203.0.113.7')).toBeUndefined();
    throttle.failure('203.0.113.7');
    expect(throttle.check('203.0.113.7')).toEqual({ failures: 3, retryAfterS: 60 });
    clock.t = 45_500;
    expect(throttle.check('203.0.113.7')).toEqual({ failures: 3, retryAfterS: 15 });
    expect(throttle.check('198.51.100.2')).toBeUndefined();
    clock.t = 60_000;
    expect(throttle.check('203.0.113.7')).toBeUndefined();
    // A fresh start after the block: it takes the whole count again.
    throttle.failure('203.0.113.7');
    throttle.failure('203.0.113.7');
    expect(throttle.check('203.0.113.7')).toBeUndefined();
  });

  it('failures spread over more than a window never block', () => {
    const { throttle, clock } = throttleWith();
    for (let i = 0; i < 10; i++) {
      clock.t = i * 31_000;
      throttle.failure('203.0.113.7');
      expect(throttle.check('203.0.113.7')).toBeUndefined();
    }
  });

  it('a success forgives one failure, not all: a shared address that mostly succeeds stays open, one valid key buys no run of guesses', () => {
    const { throttle } = throttleWith({ failures: 3 });
    for (let i = 0; i < 10; i++) {
      throttle.failure('198.51.100.2');
      throttle.success('198.51.100.2');
    }
    expect(throttle.check('198.51.100.2')).toBeUndefined();
    // Two guesses per success still add up: as the middleware does, each attempt is checked first.
    let guesses = 0;
    for (let i = 0; i < 10 && !throttle.check('192.0.2.1'); i++) {
      for (let g = 0; g < 2 && !throttle.check('192.0.2.1'); g++, guesses++) throttle.failure('192.0.2.1');
      if (!throttle.check('192.0.2.1')) throttle.success('192.0.2.1');
    }
    expect(throttle.check('192.0.2.1')).toMatchObject({ failures: 3 });
    expect(guesses).toBe(4);
  });

  it('logs one line per blocked address, naming it and the count, at most one line a second, telling what it left out', () => {
    const { throttle, clock, lines } = throttleWith({ failures: 2 });
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) for (let i = 0; i < 5; i++) throttle.failure(address);
    expect(lines).toEqual(['auth: 2 failed logins from 203.0.113.1 in 1 s; refusing its logins for 60 s (429)']);
    clock.t = 1000;
    throttle.failure('203.0.113.4');
    throttle.failure('203.0.113.4');
    expect(lines[1]).toBe('auth: 2 failed logins from 203.0.113.4 in 1 s; refusing its logins for 60 s (429) (2 more such lines were not logged)');
    expect(lines).toHaveLength(2);
  });

  it('remembers at most maxAddresses: the oldest are forgotten first', () => {
    const { throttle } = throttleWith({ failures: 1, maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) throttle.failure(`10.0.${i >> 8}.${i & 255}`);
    const blocked = Array.from({ length: 1000 }, (_, i) => throttle.check(`10.0.${i >> 8}.${i & 255}`) !== undefined);
    expect(blocked.filter(Boolean)).toHaveLength(100);
    expect(blocked.slice(900).every(Boolean)).toBe(true);
  });
});

describe('clientAddress', () => {
  it("is the socket's address, IPv4-mapped IPv6 read as IPv4, IPv6 grouped by its /64", () => {
    expect(clientAddress('127.0.0.1', undefined, false)).toBe('127.0.0.1');
    expect(clientAddress('::ffff:203.0.113.9', undefined, false)).toBe('203.0.113.9');
    expect(clientAddress('2001:db8:1:2:aaaa::1', undefined, false)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:0db8:0001:0002:ffff:ffff:ffff:ffff', undefined, false)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8::1', undefined, false)).toBe('2001:db8:0:0::/64');
    expect(clientAddress('fe80::1%eth0', undefined, false)).toBe('fe80:0:0:0::/64');
    expect(clientAddress('::1', undefined, false)).toBe('0:0:0:0::/64');
    expect(clientAddress(undefined, undefined, false)).toBeUndefined();
  });

  it("reads X-Forwarded-For's first hop only with trustProxy; without it the header changes nothing", () => {
    expect(clientAddress('10.0.0.5', '203.0.113.7, 10.0.0.5', false)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.7, 10.0.0.5', true)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', '203.0.113.7:51234', true)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', '[2001:db8::7]:443', true)).toBe('2001:db8:0:0::/64');
    expect(clientAddress('10.0.0.5', '', true)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', undefined, true)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', `junk-${'x'.repeat(500)}`, true)).toHaveLength(64);
  });
});
