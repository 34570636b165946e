// The second half of the CI differential run (see c14n-libxml2-differential.test.ts): the same
// generator with another seed, generated documents only, in a process of its own so the two
// halves run side by side. SEED / C14N_DOCS still override.
process.env.SEED ??= '20261207'
process.env.C14N_GENERATED_ONLY = '1'
await import('./c14n-libxml2-differential.test.js')
