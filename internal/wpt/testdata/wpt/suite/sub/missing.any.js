// META: script=nope.js
test(() => {}, "never runs");
