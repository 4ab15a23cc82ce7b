import type { Config } from "@react-router/dev/config";

// Server rendering on: build/server/index.js is the server build the
// Worker (src/worker.ts) serves with createRequestHandler.
export default { ssr: true } satisfies Config;
