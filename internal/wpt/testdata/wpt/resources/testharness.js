// A tiny stand-in for WPT's testharness.js, enough to test the runner:
// test, promise_test, add_completion_callback, done, timeout, setup.
(function () {
  const tests = [];
  const callbacks = [];
  let pending = 0, finished = false, doneCalled = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    for (const t of tests) if (t.status === undefined) t.status = 2;
    callbacks.forEach((cb) => cb(tests, { status: 0, message: null }));
  };
  const maybeFinish = () => { if (doneCalled && pending === 0) finish(); };
  self.setup = () => {};
  self.test = (fn, name) => {
    const t = { name, status: 0, message: null };
    tests.push(t);
    try { fn(); } catch (e) { t.status = 1; t.message = String(e); }
  };
  self.promise_test = (fn, name) => {
    const t = { name, status: undefined, message: null };
    tests.push(t);
    pending++;
    Promise.resolve().then(fn).then(() => { t.status = 0; }, (e) => { t.status = 1; t.message = String(e); })
      .then(() => { pending--; maybeFinish(); });
  };
  self.add_completion_callback = (cb) => callbacks.push(cb);
  self.done = () => { doneCalled = true; Promise.resolve().then(maybeFinish); };
  self.timeout = finish;
  self.assert_equals = (a, b) => { if (a !== b) throw new Error(`expected ${b} got ${a}`); };
})();
