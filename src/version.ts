// Kept equal to package.json's version by a test; a constant keeps the bundles free of a JSON import.
export const VERSION = '0.1.0'
