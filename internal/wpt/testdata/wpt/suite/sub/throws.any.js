throw new Error("top-level failure");
