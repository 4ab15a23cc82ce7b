// META: title=basic
// META: script=helper.js
// META: script=/common/subset-tests.js
test(() => assert_equals(answer, 42), "script loaded");
test(() => assert_equals(1, 2), "fails");
promise_test(async () => assert_equals(await Promise.resolve(globalThis.META_TITLE), "basic"), "async passes");
subsetTest(test, () => {}, "subset fallback");
