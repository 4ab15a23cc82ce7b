// Compiles calc.wat to calc.wasm with wabt (npm): node gen.js (see gen.sh).
const fs = require("fs");
require("wabt")().then((wabt) => {
  const m = wabt.parseWat("calc.wat", fs.readFileSync(__dirname + "/calc.wat", "utf8"));
  fs.writeFileSync(__dirname + "/calc.wasm", Buffer.from(m.toBinary({}).buffer));
});
