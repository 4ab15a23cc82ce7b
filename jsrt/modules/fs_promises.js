// node:fs/promises: the promise API of node:fs (the virtual file system,
// fs.js).
"use strict";
module.exports = require("fs").promises;
