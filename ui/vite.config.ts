import { defineConfig } from "vite";

// The Tauri shell loads ui/dist (tauri.conf.json > build.frontendDist).
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2021", outDir: "dist", emptyOutDir: true, sourcemap: false },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
