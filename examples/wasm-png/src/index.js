// PNG encoding and decoding in Rust compiled to WebAssembly with
// wasm-bindgen (@cf-wasm/png): its workerd entry imports png_bg.wasm as a
// WebAssembly.Module (wrangler's CompiledWasm rule) and instantiates it
// synchronously when the Worker loads.
import { encode, decode } from "@cf-wasm/png";

// A width×height RGBA gradient, the same for every request.
function image(width, height) {
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      px.set([(x * 255) / (width - 1), (y * 255) / (height - 1), (x * y) % 256, 255], i);
    }
  }
  return px;
}

async function sha256(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(req) {
    const url = new URL(req.url);
    const size = Number(url.searchParams.get("size") || 16);
    const px = image(size, size);
    const png = encode(px, size, size);
    if (url.pathname === "/png") {
      return new Response(png, { headers: { "content-type": "image/png" } });
    }
    const back = decode(png);
    const same = back.image.length === px.length && back.image.every((v, i) => v === px[i]);
    return Response.json({
      bytes: png.length,
      sha256: await sha256(png),
      width: back.width,
      height: back.height,
      roundTrip: same,
    });
  },
};
