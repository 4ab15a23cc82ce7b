// Compiles each .wat file here to its .wasm with wabt (npm): node gen.js
// (see gen.sh).
const fs = require("fs");
require("wabt")().then((wabt) => {
  for (const name of ["calc", "imports"]) {
    const m = wabt.parseWat(name + ".wat", fs.readFileSync(`${__dirname}/${name}.wat`, "utf8"));
    fs.writeFileSync(`${__dirname}/${name}.wasm`, Buffer.from(m.toBinary({}).buffer));
  }
});
